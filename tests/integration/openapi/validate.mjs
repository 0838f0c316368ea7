// validate.mjs: validates an OpenAPI document with a real validator (@apidevtools/swagger-parser:
// the OpenAPI 3.0 JSON schema plus its semantic checks), then checks every example of a
// request body or a response against its schema with Ajv (OpenAPI's `nullable` included). An
// example marked `x-verge-invalid: true` (a request the server refuses) must NOT fit its schema.
//
//   node validate.mjs FILE            exit 0 and "valid: ..." on stdout, or exit 1 with the errors
//   node validate.mjs --json FILE     also prints the dereferenced document as JSON on stdout
//                                     (the last line), for test_openapi.py, which has no YAML parser
import fs from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv from "ajv";

const args = process.argv.slice(2);
const dump = args[0] === "--json";
const file = dump ? args[1] : args[0];
if (!file) {
  console.error("usage: node validate.mjs [--json] openapi.yaml");
  process.exit(2);
}

function fail(msg) {
  console.error(`invalid: ${file}: ${msg}`);
  process.exit(1);
}

let api;
try {
  // validate() checks the document against the OpenAPI schema and resolves every $ref; it
  // returns the dereferenced document.
  api = await SwaggerParser.validate(file);
} catch (e) {
  fail(e.message);
}

// Every example against its schema. Ajv knows OpenAPI's `nullable`; `example` and the x-
// extensions are not JSON Schema keywords, hence strict: false.
const ajv = new Ajv({ strict: false, allErrors: true });
const errors = [];
let checked = 0;

function checkMedia(where, media) {
  if (!media || !media.schema) return;
  let validate;
  try {
    validate = ajv.compile(media.schema);
  } catch (e) {
    errors.push(`${where}: the schema does not compile: ${e.message}`);
    return;
  }
  const examples = [];
  if (media.example !== undefined) examples.push(["example", media.example, false]);
  for (const [name, ex] of Object.entries(media.examples || {}))
    examples.push([name, ex.value, ex["x-verge-invalid"] === true]);
  for (const [name, value, invalid] of examples) {
    checked++;
    const ok = validate(value);
    if (!ok && !invalid)
      errors.push(`${where} example "${name}": ${ajv.errorsText(validate.errors, { separator: "; " })}`);
    // a request the server refuses (x-verge-invalid) must not fit the schema either
    if (ok && invalid) errors.push(`${where} example "${name}" is marked x-verge-invalid but fits the schema`);
  }
}

for (const [path, item] of Object.entries(api.paths)) {
  for (const [method, op] of Object.entries(item)) {
    if (typeof op !== "object" || !op.responses) continue;
    const m = method.toUpperCase();
    for (const [ctype, media] of Object.entries(op.requestBody?.content || {}))
      checkMedia(`${m} ${path} request ${ctype}`, media);
    for (const [status, resp] of Object.entries(op.responses))
      for (const [ctype, media] of Object.entries(resp.content || {}))
        checkMedia(`${m} ${path} ${status} ${ctype}`, media);
  }
}

if (errors.length) fail(`${errors.length} example(s) do not fit their schema:\n  ${errors.join("\n  ")}`);
console.log(`valid: ${file}: OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths, ${checked} examples fit their schemas`);
if (dump) console.log(JSON.stringify(api));
