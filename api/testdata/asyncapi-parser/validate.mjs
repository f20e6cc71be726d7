// validate.mjs parses an AsyncAPI document with the AsyncAPI project's own
// parser (@asyncapi/parser, pinned by package-lock.json beside it) and
// prints what it reports as JSON lines: {"severity","code","path","message"}.
// It exits 1 when the document does not parse or has an error or a warning,
// 2 when it cannot run at all. Usage: node validate.mjs FILE
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const severities = ["error", "warning", "information", "hint"];

async function main(file) {
  const source = await readFile(file, "utf8");
  const parser = new Parser();
  const { document, diagnostics } = await parser.parse(source, { source: file });
  let failed = document === undefined;
  for (const d of diagnostics) {
    const severity = severities[d.severity] ?? String(d.severity);
    if (d.severity <= 1) failed = true;
    console.log(JSON.stringify({ severity, code: d.code, path: d.path.join("/"), message: d.message }));
  }
  if (document !== undefined) {
    const messages = document.allMessages().all().map((m) => m.id());
    console.log(JSON.stringify({ parsed: true, version: document.version(), messages }));
  }
  return failed ? 1 : 0;
}

if (process.argv.length !== 3) {
  console.error("usage: node validate.mjs FILE");
  process.exit(2);
}
main(process.argv[2]).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
