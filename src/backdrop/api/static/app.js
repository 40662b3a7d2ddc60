// backdrop web page: upload → order → poll → show, against this server's LightX-style API.
"use strict";

const KEY_STORAGE = "backdrop.apiKey";
const RESULTS_STORAGE = "backdrop.results";
// Result image URLs live 24 h on the server (LightX's lifetime): the list is kept that long,
// less a minute for the time between the server storing a result and the page seeing it.
const RESULT_LIFETIME_MS = 24 * 3600 * 1000 - 60 * 1000;
// The API's upload limit (5 MB); a larger image is re-encoded smaller in the page first.
const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
const RESIZE_QUALITY = 0.9; // JPEG quality of an image shrunk to fit the limit
const TYPES = ["image/jpeg", "image/png", "image/webp"];
const COST = { remove: 0.5, generate: 1 }; // credits per image, as the API charges
const $ = (id) => document.getElementById(id);

// items: one per picked file, in order; selected: the one shown in the compare view.
const state = { items: [], selected: null, running: false, touchUp: null, picks: 0 };

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

// file: a File or Blob (a shrunk image is a Blob).
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

// Only the qualities whose model the server has installed are offered (GET /models).
const QUALITY_LABELS = [["best", "Best (about 2× the time)"], ["fast", "Fast"]];

async function loadQualities() {
  if (!apiKey()) return;
  let listing;
  try { listing = await api("GET", "/external/api/v1/models"); } catch (_) { return; }
  const select = $("quality");
  const current = select.value;
  const options = [new Option("Balanced", "")];
  for (const [quality, label] of QUALITY_LABELS) {
    const model = listing.qualities[quality];
    if (model && model !== listing.defaultModel) options.push(new Option(label, model));
  }
  select.replaceChildren(...options);
  select.value = options.some((option) => option.value === current) ? current : "";
}

// ---- what the person chose ----------------------------------------------------------------

function mode() {
  return document.querySelector("input[name=mode]:checked").value;
}

const isPrompt = () => mode() === "prompt";

function removeOptions() {
  const options = { format: $("format").value };
  if ($("quality").value) options.model = $("quality").value;
  const size = $("size").value;
  if (size !== "full") options.size = /^\d+$/.test(size) ? Number(size) : size;
  if ($("crop").checked) {
    options.crop = true;
    options.cropMargin = Math.max(0, Math.min(10000, Number($("crop-margin").value) || 0));
  }
  return { ...options, ...productOptions() };
}

// Shadow, canvas and padding: sent with an order, and shown live on a finished cutout.
function productOptions() {
  const options = {};
  if ($("shadow").value) options.shadow = $("shadow").value;
  if ($("canvas").value) options.canvas = $("canvas").value;
  if ($("padding").value) options.padding = $("padding").value;
  return options;
}

function stem(name) {
  const dot = name.lastIndexOf(".");
  return (dot > 0 ? name.slice(0, dot) : name) || "image";
}

const extension = (url) => url.split("?")[0].split(".").pop();

// ---- the page ---------------------------------------------------------------------------

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", isError);
}

const formatCredits = (value) => `${Number(value.toFixed(2))}`;
const credits = (value) => `${formatCredits(value)} credit${value === 1 ? "" : "s"}`;

// The items of picked files (restored results have none: there is nothing to run again).
const picked = () => state.items.filter((item) => item.file);

function refreshControls() {
  const prompt = isPrompt();
  $("remove-options").hidden = prompt;
  $("prompt-options").hidden = !prompt;
  $("margin-row").hidden = !$("crop").checked;
  const count = picked().length;
  const missing = !apiKey() ? "Save your API key first."
    : !count ? ""
    : prompt && !$("prompt").value.trim() ? "Write a prompt first."
    : mode() === "image" && !$("bg-file").files[0] ? "Pick a background image first."
    : "";
  $("run").disabled = state.running || !count || Boolean(missing);
  const verb = prompt ? "Generate background" : "Remove background";
  $("run").textContent = count > 1 ? `${verb} · ${count} images` : verb;
  const each = prompt ? COST.generate : COST.remove;
  $("cost").textContent = missing
    || (count ? `Costs ${credits(each * count)} (${each} per image).` : "");
  $("cost").classList.toggle("error", Boolean(missing && count));
}

async function showCredits() {
  if (!apiKey()) { $("credits").textContent = "Enter your key once; it stays in this browser."; return null; }
  try {
    const account = await api("GET", "/external/api/v1/account");
    $("credits").textContent = credits(account.credits);
    return account.credits;
  } catch (error) {
    $("credits").textContent = error.message;
    return null;
  }
}

function clearResults() {
  for (const item of state.items) {
    if (item.previewUrl) URL.revokeObjectURL(item.previewUrl);
    (item.editedUrls || []).forEach((url) => URL.revokeObjectURL(url));
  }
  state.items = [];
  state.selected = null;
  $("results").replaceChildren();
  $("result").hidden = true;
  $("compare").hidden = true;
  $("touchup").hidden = true;
  $("all-downloads").hidden = true;
  $("after").removeAttribute("src");
  $("before").removeAttribute("src");
}

const megabytes = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function encode(canvas, quality) {
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error("Could not re-encode the image"))),
    "image/jpeg", quality));
}

// The largest JPEG (at RESIZE_QUALITY) of the image, keeping its aspect ratio, under `limit`.
async function shrink(bitmap, limit) {
  const canvas = document.createElement("canvas");
  let scale = 1;
  for (;;) {
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // JPEG has no alpha: transparent pixels become white
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await encode(canvas, RESIZE_QUALITY);
    if (blob.size <= limit) return { blob, width: canvas.width, height: canvas.height };
    // Bytes go roughly with the area: aim just under the limit, at least 5% smaller a step.
    scale *= Math.min(0.95, Math.sqrt(limit / blob.size) * 0.98);
  }
}

// A picked file, opened in the browser first: null when it is not an image it can open.
async function prepare(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (_) {
    return null;
  }
  const item = {
    file, name: file.name, stem: stem(file.name), status: "waiting",
    width: bitmap.width, height: bitmap.height, upload: file, resized: "",
  };
  try {
    if (file.size > MAX_UPLOAD_BYTES) {
      const small = await shrink(bitmap, MAX_UPLOAD_BYTES);
      item.upload = small.blob;
      const quality = `JPEG quality ${RESIZE_QUALITY * 100}%`;
      item.resized = small.width === bitmap.width
        ? `re-encoded from ${megabytes(file.size)} to ${megabytes(small.blob.size)} `
          + `(${quality}, still ${small.width}×${small.height}) to fit the 5 MB limit`
        : `resized from ${bitmap.width}×${bitmap.height} to ${small.width}×${small.height} `
          + `(${quality}, ${megabytes(small.blob.size)}) to fit the 5 MB limit`;
    }
  } finally {
    bitmap.close();
  }
  item.previewUrl = URL.createObjectURL(item.upload);
  return item;
}

function describe(item) {
  const size = `${item.width}×${item.height} · ${(item.file.size / 1024).toFixed(0)} KB`;
  return `${item.name} · ${size}${item.resized ? ` — ${item.resized}` : ""}`;
}

function showPreview(item) {
  $("preview").src = item.previewUrl;
  $("preview").alt = item.name;
  $("thumbs").querySelectorAll("button").forEach((button, index) => {
    button.setAttribute("aria-pressed", String(state.items[index] === item));
  });
}

async function pick(files) {
  const list = [...files];
  if (!list.length) return;
  const token = ++state.picks;
  const wrongType = list.filter((file) => !TYPES.includes(file.type));
  clearResults();
  say("Opening the images…");
  const items = [];
  const unreadable = [];
  for (const file of list.filter((entry) => TYPES.includes(entry.type))) {
    const item = await prepare(file);
    if (token !== state.picks) {
      if (item) URL.revokeObjectURL(item.previewUrl);
      return; // a newer pick replaced this one
    }
    if (item) items.push(item); else unreadable.push(file.name);
  }
  state.items = items;
  const first = items[0];
  $("preview").hidden = !first;
  $("drop-hint").hidden = Boolean(first);
  $("thumbs").replaceChildren(...(items.length > 1 ? items : []).map((item) => {
    const button = document.createElement("button");
    button.type = "button";
    button.title = item.name;
    const image = document.createElement("img");
    image.src = item.previewUrl;
    image.alt = item.name;
    button.append(image);
    button.addEventListener("click", () => showPreview(item));
    return button;
  }));
  $("thumbs").hidden = items.length < 2;
  if (first) showPreview(first);
  $("picked").hidden = !first;
  $("picked").replaceChildren(...(items.length === 1 ? [describe(first)]
    : items.length ? [`${items.length} images: ${items.map((item) => item.name).join(", ")}`,
      ...items.filter((item) => item.resized).map((item) => {
        const line = document.createElement("span");
        line.className = "resized";
        line.textContent = `${item.name}: ${item.resized}`;
        return line;
      })]
    : []));
  const problems = [];
  if (wrongType.length) {
    problems.push(`Not a JPEG, PNG or WebP image: ${wrongType.map((file) => file.name).join(", ")}`);
  }
  if (unreadable.length) {
    problems.push(`Not an image this browser can open (damaged, or another kind of file `
      + `renamed): ${unreadable.join(", ")}`);
  }
  say(problems.join(". "), problems.length > 0);
  refreshControls();
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`Could not load ${src}`));
    image.src = src;
  });
}

function link(text, href, filename) {
  const a = document.createElement("a");
  a.className = "button";
  a.textContent = text;
  a.href = href;
  a.download = filename;
  return a;
}

function noteFor(item) {
  if (item.status === "failed") return item.error;
  if (item.status !== "done") return item.status === "working" ? "working…" : "waiting";
  const balance = item.balanceAfter === null ? "?" : formatCredits(item.balanceAfter);
  return `${credits(item.cost)} · balance after: ${balance}`;
}

function renderItem(item) {
  const row = item.row || document.createElement("li");
  item.row = row;
  row.dataset.status = item.status;
  row.classList.toggle("selected", state.selected === item);
  const title = document.createElement("button");
  title.type = "button";
  title.className = "name";
  title.textContent = item.name;
  title.disabled = item.status !== "done";
  title.addEventListener("click", () => select(item));
  const note = document.createElement("span");
  note.className = item.status === "failed" ? "note error" : "note muted";
  note.textContent = noteFor(item);
  const links = document.createElement("span");
  links.className = "links";
  if (item.status === "done") {
    links.append(link("Result", item.output, item.outputName));
    if (item.mask) links.append(link("Mask", item.mask, `${item.stem}.mask.png`));
    if (item.editedUrls) links.append(link("Touched-up", item.editedUrls[0], `${item.stem}.touched-up.png`));
    if (item.canTouchUp) {
      const touch = document.createElement("button");
      touch.type = "button";
      touch.textContent = "Touch up";
      touch.addEventListener("click", () => openTouchUp(item));
      links.append(touch);
    }
  }
  row.replaceChildren(title, note, links);
  if (!row.parentNode) $("results").append(row);
}

async function select(item) {
  state.selected = item;
  $("touchup").hidden = true;
  const shown = (item.editedUrls && item.editedUrls[0]) || item.output;
  await loadImage(shown);
  if (item.previewUrl) $("before").src = item.previewUrl; else $("before").removeAttribute("src");
  $("after").src = shown;
  // A cropped result no longer lines up with the original, and a restored one has none:
  // it is shown alone.
  $("compare").classList.toggle("single", Boolean(item.cropped || !item.previewUrl));
  $("compare").hidden = false;
  state.items.forEach(renderItem);
  refreshProduct();
}

// ---- product photo preview: the server renders the stored cutout (no CSS imitation) -----

let previewToken = 0;

async function productBlob(item, longSide) {
  const body = { orderId: item.orderId, longSide, ...productOptions() };
  if (mode() === "color") body.background = $("color").value;
  const response = await fetch("/external/api/v1/product-preview", {
    method: "POST",
    headers: { "Content-Type": "application/json", "x-api-key": apiKey() },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try { detail = (await response.json()).body.detail; } catch (_) { /* keep the status */ }
    throw new Error(detail);
  }
  return response.blob();
}

async function refreshProduct() {
  const item = state.selected;
  const wanted = Object.keys(productOptions()).length > 0;
  const show = Boolean(item && item.canPreview && wanted && !state.running);
  $("product").hidden = !show;
  if (!show) return;
  const token = ++previewToken;
  $("product").dataset.state = "loading";
  try {
    const blob = await productBlob(item, 800);
    if (token !== previewToken) return; // a newer choice is on its way
    const old = $("product-view").src;
    $("product-view").src = URL.createObjectURL(blob);
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    $("product-note").textContent = "The server's rendering of the shadow, canvas and padding "
      + "chosen above, from this cutout (no charge).";
    $("product").dataset.state = "ready";
  } catch (error) {
    if (token !== previewToken) return;
    $("product-note").textContent = `No preview: ${error.message}`;
    $("product").dataset.state = "failed";
  }
}

async function downloadProduct(event) {
  event.preventDefault();
  const item = state.selected;
  if (!item) return;
  try {
    say("Rendering the product photo…");
    const blob = await productBlob(item, 4000);
    const ext = blob.type === "image/jpeg" ? "jpg" : "png";
    saveBlob(blob, `${item.stem}.product.${ext}`);
    say(`Saved ${item.stem}.product.${ext}.`);
  } catch (error) {
    say(error.message, true);
  }
}

async function openTouchUp(item) {
  const [cutout, original] = await Promise.all([
    loadImage((item.editedUrls && item.editedUrls[0]) || item.output), loadImage(item.previewUrl),
  ]);
  state.touchUpItem = item;
  state.touchUp.open(cutout, original);
  $("compare").hidden = true;
  $("touchup").hidden = false;
}

async function saveTouchUp() {
  const item = state.touchUpItem;
  const { cutout, mask } = await state.touchUp.save();
  (item.editedUrls || []).forEach((url) => URL.revokeObjectURL(url));
  item.editedUrls = [URL.createObjectURL(cutout), URL.createObjectURL(mask)];
  item.editedBlobs = [cutout, mask];
  await select(item);
  say(`Saved the touched-up ${item.stem}.touched-up.png; download it from the list.`);
}

async function processOne(item, chosen, options) {
  item.status = "working";
  renderItem(item);
  const imageUrl = await upload(item.upload);
  let order;
  if (chosen === "prompt") {
    const body = { imageUrl, textPrompt: $("prompt").value.trim() };
    if ($("seed").value !== "") body.seed = Number($("seed").value);
    order = await api("POST", "/external/api/v1/background-generator", body);
  } else {
    let background = "transparent";
    if (chosen === "color") background = $("color").value;
    if (chosen === "image") background = options.backgroundUrl;
    order = await api("POST", "/external/api/v1/remove-background",
      { imageUrl, background, ...options.remove });
  }
  const status = await waitFor(order, (fraction) => {
    // An estimate from the server's average time; it never claims to be done early.
    $("progress").value = Math.min(95, (options.done + Math.min(fraction, 0.95)) / options.total * 100);
  });
  await loadImage(status.output);
  item.orderId = order.orderId;
  item.expiresAt = Date.now() + RESULT_LIFETIME_MS;
  item.output = status.output;
  item.mask = status.mask;
  item.outputName = `${item.stem}.${extension(status.output)}`;
  item.cost = chosen === "prompt" ? COST.generate : COST.remove;
  const remove = options.remove || {};
  item.cropped = Boolean(remove.crop);
  item.canTouchUp = chosen === "transparent" && !remove.crop && remove.format !== "jpg";
  // A plain transparent cutout can be laid out and shadowed afresh by the server.
  item.canPreview = chosen === "transparent" && remove.format !== "jpg" && !remove.shadow
    && !remove.canvas && !remove.padding;
  item.status = "done";
  item.balanceAfter = await showCredits();
}

async function run() {
  const chosen = mode();
  const items = picked();
  state.items = items;
  state.running = true;
  refreshControls();
  $("result").hidden = false;
  $("result").dataset.state = "running";
  $("progress").hidden = false;
  $("progress").value = 0;
  const options = { total: items.length, done: 0, remove: chosen === "prompt" ? null : removeOptions() };
  // A new run replaces what the last one showed.
  state.selected = null;
  $("compare").hidden = true;
  $("touchup").hidden = true;
  $("all-downloads").hidden = true;
  $("results").replaceChildren();
  try {
    items.forEach((item) => {
      Object.assign(item, { status: "waiting", row: null, editedUrls: null, editedBlobs: null });
      renderItem(item);
    });
    if (chosen === "image") {
      say("Uploading the background…");
      options.backgroundUrl = await upload($("bg-file").files[0]);
    }
    for (const item of items) {
      say(`Working on ${item.name}…`);
      try {
        await processOne(item, chosen, options);
        if (!state.selected) await select(item);
      } catch (error) {
        item.status = "failed";
        item.error = error.message;
      }
      options.done += 1;
      renderItem(item);
      saveResults(items);
      if (state.items !== items) return; // a new pick replaced this run's list
    }
    const failed = items.filter((item) => item.status === "failed");
    const done = items.length - failed.length;
    $("all-downloads").hidden = done < 2;
    $("result").dataset.state = failed.length ? "error" : "done";
    if (!done) $("compare").hidden = true;
    say(failed.length ? `${done} done, ${failed.length} failed: ${failed[0].error}` : "Done.", failed.length > 0);
  } catch (error) {
    $("result").dataset.state = "error";
    say(error.message, true);
  } finally {
    state.running = false;
    $("progress").hidden = true;
    refreshControls();
  }
}

// ---- results kept across reloads, until their URLs expire ------------------------------------

const SAVED_FIELDS = ["name", "stem", "orderId", "output", "mask", "outputName", "cost",
  "balanceAfter", "cropped", "canPreview", "expiresAt"];

function saveResults(items) {
  const done = items.filter((item) => item.status === "done")
    .map((item) => Object.fromEntries(SAVED_FIELDS.map((field) => [field, item[field]])));
  try {
    if (done.length) localStorage.setItem(RESULTS_STORAGE, JSON.stringify(done));
    else localStorage.removeItem(RESULTS_STORAGE);
  } catch (_) { /* storage full or blocked: the list just is not kept */ }
}

function savedResults() {
  let saved = [];
  try { saved = JSON.parse(localStorage.getItem(RESULTS_STORAGE) || "[]"); } catch (_) { /* unreadable */ }
  if (!Array.isArray(saved)) return [];
  const live = saved.filter((entry) => entry && entry.output && entry.expiresAt > Date.now());
  if (live.length !== saved.length) saveResults(live.map((entry) => ({ ...entry, status: "done" })));
  return live;
}

const clock = (ms) => new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });

async function restoreResults() {
  const saved = savedResults();
  if (!saved.length) return;
  state.items = saved.map((entry) => ({ ...entry, status: "done", restored: true }));
  $("result").hidden = false;
  $("result").dataset.state = "done";
  state.items.forEach(renderItem);
  $("all-downloads").hidden = state.items.length < 2;
  const until = Math.min(...state.items.map((item) => item.expiresAt));
  const count = state.items.length;
  say(`${count} earlier result${count === 1 ? "" : "s"}, kept in this browser; `
    + `the links work until ${clock(until)}.`);
  const first = state.items[0];
  try {
    await select(first);
  } catch (_) {
    if (state.items[0] !== first) return;
    // Gone from the server early (deleted, or a restored server): forget the list.
    saveResults([]);
    clearResults();
    say("The earlier results are no longer on the server.", true);
  }
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = link("", url, name);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function downloadZip() {
  const files = [];
  for (const item of state.items.filter((entry) => entry.status === "done")) {
    const output = new Uint8Array(await (await fetch(item.output)).arrayBuffer());
    files.push({ name: item.outputName, bytes: output });
    if (item.mask) {
      files.push({ name: `${item.stem}.mask.png`, bytes: new Uint8Array(await (await fetch(item.mask)).arrayBuffer()) });
    }
    if (item.editedBlobs) {
      files.push({ name: `${item.stem}.touched-up.png`, bytes: new Uint8Array(await item.editedBlobs[0].arrayBuffer()) });
    }
  }
  const url = URL.createObjectURL(makeZip(files));
  const a = link("", url, "backdrop-results.zip");
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function init() {
  $("api-key").value = apiKey();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
    refreshControls();
    showCredits();
    loadQualities();
  });
  $("file").addEventListener("change", () => pick($("file").files));
  const drop = $("drop");
  ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (event) => {
    event.preventDefault();
    drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => drop.addEventListener(name, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    pick(event.dataTransfer.files);
  });
  document.querySelectorAll("input[name=mode]").forEach((input) => input.addEventListener("change", refreshControls));
  // Touching a mode's own control selects that mode.
  [["color", "color"], ["bg-file", "image"], ["prompt", "prompt"]].forEach(([id, value]) => {
    $(id).addEventListener("focus", () => {
      document.querySelector(`input[name=mode][value=${value}]`).checked = true;
      refreshControls();
    });
  });
  ["prompt", "bg-file", "crop"].forEach((id) => $(id).addEventListener("input", refreshControls));
  $("bg-file").addEventListener("change", refreshControls);
  $("slider").addEventListener("input", () => {
    $("compare").style.setProperty("--split", `${$("slider").value}%`);
  });
  $("run").addEventListener("click", run);
  ["shadow", "canvas", "padding", "color"].forEach((id) => $(id).addEventListener("input", refreshProduct));
  document.querySelectorAll("input[name=mode]").forEach((input) => input.addEventListener("change", refreshProduct));
  $("product-download").addEventListener("click", downloadProduct);
  $("dl-zip").addEventListener("click", downloadZip);
  state.touchUp = new TouchUp($("touchup-canvas"));
  $("touchup-save").addEventListener("click", saveTouchUp);
  $("touchup-cancel").addEventListener("click", () => select(state.touchUpItem));
  refreshControls();
  showCredits();
  loadQualities();
  restoreResults();
}

init();
