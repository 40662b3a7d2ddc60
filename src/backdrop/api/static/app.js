// backdrop web page: upload → order → poll → show, against this server's LightX-style API.
"use strict";

const KEY_STORAGE = "backdrop.apiKey";
const TYPES = ["image/jpeg", "image/png", "image/webp"];
const $ = (id) => document.getElementById(id);

const state = { file: null, originalUrl: null, derivedUrls: [] };

// ---- API ------------------------------------------------------------------------------

function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "x-api-key": apiKey() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (_) { /* not JSON: reported below */ }
  if (!data || data.statusCode !== 2000) {
    const detail = data && data.body && data.body.detail;
    const message = data ? data.message : `HTTP ${response.status}`;
    throw new Error(detail ? `${message}: ${detail}` : message);
  }
  return data.body;
}

async function upload(file) {
  if (!TYPES.includes(file.type)) throw new Error("Pick a JPEG, PNG or WebP image");
  const grant = await api("POST", "/external/api/v2/uploadImageUrl", {
    uploadType: "imageUrl", size: file.size, contentType: file.type,
  });
  const put = await fetch(grant.uploadImage, {
    method: "PUT", headers: { "Content-Type": file.type }, body: file,
  });
  if (!put.ok) {
    let detail = `HTTP ${put.status}`;
    try { detail = (await put.json()).body.detail; } catch (_) { /* keep the status */ }
    throw new Error(`Upload failed: ${detail}`);
  }
  return grant.imageUrl;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// First look when the server expects the order to be done, then back off (as the SDK does).
async function waitFor(order, onTick) {
  const expected = Math.max(order.avgResponseTimeInSec || 3, 0.25);
  const started = performance.now();
  const timer = setInterval(() => onTick((performance.now() - started) / 1000 / expected), 100);
  try {
    let delay = Math.min(expected, 5);
    let next = Math.min(Math.max(expected / 4, 0.25), 5);
    for (;;) {
      await sleep(delay * 1000);
      const status = await api("POST", "/external/api/v1/order-status", { orderId: order.orderId });
      if (status.status === "active") return status;
      if (status.status === "failed") throw new Error(`Order failed: ${status.reason || "no reason given"}`);
      if ((performance.now() - started) / 1000 > 300) throw new Error("Gave up after 5 minutes");
      delay = next;
      next = Math.min(next * 1.5, 5);
    }
  } finally {
    clearInterval(timer);
  }
}

// ---- UI -------------------------------------------------------------------------------

function mode() {
  return document.querySelector("input[name=mode]:checked").value;
}

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", isError);
}

function refreshRunButton() {
  $("run").disabled = !state.file || !apiKey();
  $("run").textContent = mode() === "prompt" ? "Generate background" : "Remove background";
}

async function showCredits() {
  if (!apiKey()) { $("credits").textContent = "Enter your key once; it stays in this browser."; return; }
  try {
    const account = await api("GET", "/external/api/v1/account");
    $("credits").textContent = `${account.credits} credits`;
  } catch (error) {
    $("credits").textContent = error.message;
  }
}

function pick(file) {
  if (!file) return;
  if (!TYPES.includes(file.type)) { say("Pick a JPEG, PNG or WebP image", true); return; }
  state.file = file;
  if (state.originalUrl) URL.revokeObjectURL(state.originalUrl);
  state.originalUrl = URL.createObjectURL(file);
  $("preview").src = state.originalUrl;
  $("preview").hidden = false;
  $("drop-hint").hidden = true;
  say(`${file.name} · ${(file.size / 1024).toFixed(0)} KB`);
  refreshRunButton();
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`Could not load ${src}`));
    image.src = src;
  });
}

// The cutout of a composite: the original's pixels with the mask as alpha.
async function cutoutFromMask(originalUrl, maskUrl) {
  const [original, mask] = await Promise.all([loadImage(originalUrl), loadImage(maskUrl)]);
  const canvas = document.createElement("canvas");
  canvas.width = original.naturalWidth;
  canvas.height = original.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(mask, 0, 0, canvas.width, canvas.height);
  const alpha = context.getImageData(0, 0, canvas.width, canvas.height);
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.drawImage(original, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < pixels.data.length; i += 4) pixels.data[i + 3] = alpha.data[i];
  context.putImageData(pixels, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  return URL.createObjectURL(blob);
}

async function showResult(status, chosen) {
  state.derivedUrls.forEach((url) => URL.revokeObjectURL(url));
  state.derivedUrls = [];
  $("before").src = state.originalUrl;
  await loadImage(status.output);
  $("after").src = status.output;
  const transparent = chosen === "transparent";
  let cutout = transparent ? status.output : null;
  if (!cutout && status.mask) {
    cutout = await cutoutFromMask(state.originalUrl, status.mask);
    state.derivedUrls.push(cutout);
  }
  setLink("dl-cutout", cutout);
  setLink("dl-mask", status.mask);
  setLink("dl-composite", transparent ? null : status.output);
  $("result").hidden = false;
  $("result").dataset.orderId = status.orderId;
  $("result").dataset.state = "done";
}

function setLink(id, url) {
  const link = $(id);
  link.hidden = !url;
  if (url) link.href = url;
}

async function run() {
  const chosen = mode();
  $("run").disabled = true;
  $("result").dataset.state = "running";
  $("progress").hidden = false;
  $("progress").value = 0;
  try {
    say("Uploading…");
    const imageUrl = await upload(state.file);
    let order;
    if (chosen === "prompt") {
      const prompt = $("prompt").value.trim() || $("prompt").placeholder;
      order = await api("POST", "/external/api/v1/background-generator", { imageUrl, textPrompt: prompt });
    } else {
      let background = "transparent";
      if (chosen === "color") background = $("color").value;
      if (chosen === "image") {
        const file = $("bg-file").files[0];
        if (!file) throw new Error("Pick a background image");
        background = await upload(file);
      }
      order = await api("POST", "/external/api/v1/remove-background", { imageUrl, background });
    }
    say("Working…");
    const status = await waitFor(order, (fraction) => {
      // An estimate from the server's average time; it never claims to be done early.
      $("progress").value = Math.min(95, fraction * 90);
    });
    $("progress").value = 100;
    await showResult(status, chosen);
    say("Done.");
    showCredits();
  } catch (error) {
    $("result").dataset.state = "error";
    say(error.message, true);
  } finally {
    $("progress").hidden = true;
    refreshRunButton();
  }
}

function init() {
  $("api-key").value = apiKey();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
    refreshRunButton();
    showCredits();
  });
  $("file").addEventListener("change", () => pick($("file").files[0]));
  const drop = $("drop");
  ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (event) => {
    event.preventDefault();
    drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => drop.addEventListener(name, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    pick(event.dataTransfer.files[0]);
  });
  document.querySelectorAll("input[name=mode]").forEach((input) => input.addEventListener("change", refreshRunButton));
  // Touching a mode's own control selects that mode.
  [["color", "color"], ["bg-file", "image"], ["prompt", "prompt"]].forEach(([id, value]) => {
    $(id).addEventListener("focus", () => {
      document.querySelector(`input[name=mode][value=${value}]`).checked = true;
      refreshRunButton();
    });
  });
  $("slider").addEventListener("input", () => {
    $("compare").style.setProperty("--split", `${$("slider").value}%`);
  });
  $("run").addEventListener("click", run);
  refreshRunButton();
  showCredits();
}

init();
