/**
 * "Report a problem with this listing" / "Suggest this site": the address of the project's issue
 * form, prefilled with what the panel shows. The person opens it in a tab, reads it and submits it
 * there; caseflag itself sends nothing. The form's address comes from project.json, which is made
 * from pyproject.toml's [project.urls] (scripts/project_json.py).
 */

let project = null;

/** { repository, issue_form, issue_template } of the project, read from the extension's files. */
export function projectInfo() {
  project ??= fetch(chrome.runtime.getURL("project.json")).then((response) => response.json());
  return project;
}

/**
 * The issue form's address with its fields filled in (GitHub issue forms take a field's value from
 * the query parameter named after the field's id). level "none" (nothing known) is a suggestion of
 * a new site; without a level (the list page) it is a report about the entity's listing.
 */
export function reportUrl(info, { hostname, level, entity, datasetVersion }) {
  const url = new URL(info.issue_form);
  // The form's title is for the maintainers, who triage in English.
  const suggestion = level === "none" || (!level && !entity);
  url.searchParams.set("template", info.issue_template);
  url.searchParams.set("title", `${suggestion ? "Suggest" : "Listing"}: ${hostname}`);
  url.searchParams.set("domain", hostname);
  if (level) url.searchParams.set("verdict", level);
  if (entity) url.searchParams.set("entity", entity);
  if (datasetVersion) url.searchParams.set("dataset_version", datasetVersion);
  return url.href;
}
