// A Node.js LightX client, written the way LightX's own samples call the API, with only the
// base URL changed. Usage: node lightx_client.mjs BASE_URL API_KEY IMAGE_PATH BACKGROUND
// Prints the final order-status body as JSON on the last line.
import { readFileSync, statSync } from "node:fs";

const [baseUrl, apiKey, imagePath, background] = process.argv.slice(2);
const api = `${baseUrl}/external/api`;
const headers = { "Content-Type": "application/json", "x-api-key": apiKey };
const maxRetries = 5;
const retryInterval = 3000;

async function post(path, payload) {
  const response = await fetch(`${api}${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(payload),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status} on ${path}`);
  const data = await response.json();
  if (data.statusCode !== 2000) throw new Error(`${path} failed: ${data.message}`);
  return data.body;
}

const size = statSync(imagePath).size;
const { uploadImage, imageUrl } = await post("/v2/uploadImageUrl", {
  uploadType: "imageUrl",
  size,
  contentType: "image/jpeg",
});
const put = await fetch(uploadImage, {
  method: "PUT",
  headers: { "Content-Type": "image/jpeg" },
  body: readFileSync(imagePath),
});
if (!put.ok) throw new Error(`upload failed: HTTP ${put.status}`);

const { orderId } = await post("/v1/remove-background", { imageUrl, background });
let attempts = 0;
while (attempts < maxRetries) {
  const status = await post("/v1/order-status", { orderId });
  if (status.status === "active" || status.status === "failed") {
    console.log(JSON.stringify(status));
    process.exit(0);
  }
  attempts++;
  if (attempts < maxRetries) await new Promise((resolve) => setTimeout(resolve, retryInterval));
}
throw new Error("Maximum retry attempts reached");
