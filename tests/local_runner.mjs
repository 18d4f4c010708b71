// Runs the real extension/local.js for the Python tests: reads {"index": path, "queries": [...],
// "connection": {...}?} as JSON on stdin, prints one JSON list of answers (an Error as {"thrown": message}).
import { readFileSync } from "node:fs";
import { localCheck, prepareIndex, validateIndex } from "../extension/local.js";

const request = JSON.parse(readFileSync(0, "utf-8"));
const answers = [];
if (request.validate !== undefined) {
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
    const options = query.connection ? { connection: query.connection } : {};
    answers.push(localCheck(query.text, index, options));
  }
}
process.stdout.write(JSON.stringify(answers));
