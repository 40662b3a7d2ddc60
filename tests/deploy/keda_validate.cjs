// Validates KEDA objects (JSON array on stdin) against the schemas of KEDA's CRDs as published
// in npm's @kubernetes-models/keda (generated from KEDA's API types): field types and required
// fields. Prints one line per object; exits 1 when any is invalid.
const path = require("path");
const root = process.argv[2];
const models = require(path.join(root, "node_modules/@kubernetes-models/keda/keda.sh/v1alpha1"));
const docs = JSON.parse(require("fs").readFileSync(0, "utf8"));
let invalid = 0;
for (const doc of docs) {
  const Model = models[doc.kind];
  try {
    if (!Model) throw new Error(`no schema for kind ${doc.kind}`);
    new Model(doc).validate();
    console.log(`valid ${doc.kind}/${doc.metadata.name}`);
  } catch (error) {
    invalid++;
    console.log(`invalid ${doc.kind}/${doc.metadata.name}: ${error.message}`);
  }
}
process.exit(invalid ? 1 : 0);
