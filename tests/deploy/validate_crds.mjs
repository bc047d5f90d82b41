// Validates prometheus-operator objects (ServiceMonitor, PrometheusRule) against the schemas
// that the npm package @kubernetes-models/prometheus-operator generates from the operator's
// Go API types. Kubernetes' own OpenAPI schemas do not cover custom resources.
//
// usage: node validate_crds.mjs NPM_GLOBAL_ROOT < documents.json   (a JSON array)
// Prints one line per invalid object and exits 1 if there is any.

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const packageRoot = `${process.argv[2]}/@kubernetes-models/prometheus-operator`;
const documents = JSON.parse(readFileSync(0, "utf8"));
let failures = 0;

for (const document of documents) {
  const [group, version] = document.apiVersion.split("/");
  const modelFile = `${packageRoot}/${group}/${version}/${document.kind}.js`;
  let Model;
  try {
    Model = (await import(pathToFileURL(modelFile).href))[document.kind];
  } catch {
    console.log(`${document.kind} ${document.apiVersion}: no schema in the package`);
    failures += 1;
    continue;
  }
  try {
    new Model(document).validate();
  } catch (error) {
    console.log(`${document.kind}/${document.metadata?.name}: ${error.message}`);
    failures += 1;
  }
}
process.exit(failures === 0 ? 0 : 1);
