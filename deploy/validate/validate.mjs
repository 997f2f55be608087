// Validates Kubernetes objects offline against the upstream OpenAPI schemas
// (kubernetes-models: one JSON-schema validator per API type, generated from the
// Kubernetes OpenAPI document, no cluster needed). Reads the YAML streams named
// on the command line ("-" for stdin), as `kubectl kustomize` prints them, and
// prints one line per object: "PASS <label> <Kind>/<name>" or
// "FAIL <label> <Kind>/<name>: <reason>". An object of a kind it has no schema
// for is a FAIL, never skipped. Exits 1 when any object fails or a stream does
// not parse, 0 otherwise.
//   node validate.mjs --label=overlays/laptop built.yaml
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);

// The kubernetes-models module path of an apiVersion and kind: "v1" is the core
// group ("kubernetes-models/v1/Service"), "apps/v1" a named one.
function modelPath(apiVersion, kind) {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function loadModel(apiVersion, kind) {
  if (!/^[A-Za-z0-9.-]+(\/[A-Za-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind)) {
    throw new Error(`not an apiVersion/kind: ${apiVersion} ${kind}`);
  }
  try {
    require.resolve(modelPath(apiVersion, kind));
  } catch {
    throw new Error(`no schema for ${apiVersion} ${kind}`);
  }
  const module = await import(modelPath(apiVersion, kind));
  return module[kind];
}

// kubectl 1.20 prints a long Secret value as base64 broken into lines; the API
// server's decoder (Go's encoding/base64) skips line breaks, the schema's "byte"
// format does not, so they are removed before validation.
function withoutBase64LineBreaks(object) {
  if (object.kind !== "Secret" || object.data === null || typeof object.data !== "object") {
    return object;
  }
  const data = {};
  for (const [key, value] of Object.entries(object.data)) {
    data[key] = typeof value === "string" ? value.replace(/[\r\n]/g, "") : value;
  }
  return { ...object, data };
}

async function validateObject(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    throw new Error("a document that is not an object");
  }
  const Model = await loadModel(String(object.apiVersion), String(object.kind));
  new Model(withoutBase64LineBreaks(object)).validate();
}

async function main() {
  const args = process.argv.slice(2);
  const label = (args.find((arg) => arg.startsWith("--label=")) || "--label=manifests").slice(8);
  const files = args.filter((arg) => !arg.startsWith("--label="));
  if (files.length === 0) {
    console.error("usage: node validate.mjs [--label=NAME] FILE.yaml|- ...");
    process.exit(2);
  }
  let failed = 0;
  let passed = 0;
  for (const file of files) {
    const text = readFileSync(file === "-" ? 0 : file, "utf8");
    const documents = parseAllDocuments(text);
    for (const document of documents) {
      if (document.errors.length > 0) {
        console.log(`FAIL ${label} ${file}: YAML: ${document.errors[0].message}`);
        failed++;
        continue;
      }
      const object = document.toJS();
      if (object === null) continue;
      const name = `${object.kind}/${object.metadata && object.metadata.name}`;
      try {
        await validateObject(object);
        console.log(`PASS ${label} ${name}`);
        passed++;
      } catch (error) {
        const reason = String(error.message || error).replace(/\s+/g, " ");
        console.log(`FAIL ${label} ${name}: ${reason}`);
        failed++;
      }
    }
  }
  if (passed + failed === 0) {
    console.log(`FAIL ${label}: no objects`);
    failed++;
  }
  process.exit(failed > 0 ? 1 : 0);
}

main();
