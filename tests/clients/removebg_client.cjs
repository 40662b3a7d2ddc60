// remove.bg's published npm client (remove.bg@1.3.0), loaded from a copy whose only change is
// its API_ENDPOINT constant. Usage: node removebg_client.cjs MODULE CALL API_KEY SOURCE OUT
// CALL is file, base64, url, placed or margin; prints the client's resolved result (without the image) as JSON.
"use strict";
const fs = require("fs");

const [modulePath, call, apiKey, source, outputFile] = process.argv.slice(2);
const removeBg = require(modulePath);
const common = { apiKey, size: "regular", type: "auto", outputFile };
const calls = {
  file: () => removeBg.removeBackgroundFromImageFile({ ...common, path: source }),
  base64: () =>
    removeBg.removeBackgroundFromImageBase64({
      ...common,
      base64img: fs.readFileSync(source).toString("base64"),
      bg_color: "ff0000",
    }),
  url: () => removeBg.removeBackgroundFromImageUrl({ ...common, url: source, crop: true }),
  // remove.bg's layout and shadow fields, as the client passes them through.
  placed: () =>
    removeBg.removeBackgroundFromImageFile({
      ...common,
      path: source,
      scale: "50%",
      position: "0% 100%",
      add_shadow: true,
    }),
  margin: () =>
    removeBg.removeBackgroundFromImageFile({
      ...common,
      path: source,
      crop: true,
      crop_margin: "10% 0",
      roi: "0% 0% 100% 100%",
    }),
};

calls[call]()
  .then((result) => {
    delete result.base64img;
    console.log(JSON.stringify(result));
  })
  .catch((errors) => {
    console.log(JSON.stringify({ errors }));
    process.exit(1);
  });
