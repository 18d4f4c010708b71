// Runs the real extension/local.js for the Python tests: reads {"index": path, "queries": [...],
// "connection": {...}?} as JSON on stdin, prints one JSON list of answers (an Error as {"thrown": message}).
// {"browser": [url, ...]} instead gives what a browser hands over for each: new URL(url).hostname, or null.
// CASEFLAG_EXTENSION points at another copy of the extension (the mutation tests).
import { readFileSync } from "node:fs";

const base = process.env.CASEFLAG_EXTENSION ?? new URL("../extension/", import.meta.url).pathname;
const { localCheck, prepareIndex, validateIndex } = await import(`${base}/local.js`);
const request = JSON.parse(readFileSync(0, "utf-8"));
const answers = [];
if (request.browser !== undefined) {
  for (const url of request.browser) {
    try {
      answers.push(new URL(url).hostname || null);
    } catch {
      answers.push(null);
    }
  }
} else if (request.validate !== undefined) {
  for (const text of request.validate) {
    try {
      validateIndex(text);
      answers.push({ ok: true });
    } catch (err) {
      answers.push({ thrown: err.message });
    }
  }
} else {
  const index = prepareIndex(readFileSync(request.index, "utf-8"));
  for (const query of request.queries) {
    answers.push(localCheck(query.text, index, { connection: query.connection, lang: query.lang }));
  }
}
process.stdout.write(JSON.stringify(answers));
