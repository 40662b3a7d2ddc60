// Touch-up brush on a transparent cutout: Erase clears pixels, Restore brings the original's
// pixels back. The server's cutout stays as it is everywhere the brush did not touch.
"use strict";

class TouchUp {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d", { willReadFrequently: true });
    this.original = null;
    this.drawing = false;
    canvas.addEventListener("pointerdown", (event) => {
      this.drawing = true;
      canvas.setPointerCapture(event.pointerId);
      this.paint(event);
    });
    canvas.addEventListener("pointermove", (event) => { if (this.drawing) this.paint(event); });
    ["pointerup", "pointercancel"].forEach((name) =>
      canvas.addEventListener(name, () => { this.drawing = false; }));
  }

  // cutout and original: loaded <img> elements of the same size.
  open(cutout, original) {
    this.canvas.width = cutout.naturalWidth;
    this.canvas.height = cutout.naturalHeight;
    this.context.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.context.drawImage(cutout, 0, 0);
    this.original = original;
  }

  // Brush size in screen pixels, whatever the canvas is scaled to.
  paint(event) {
    const box = this.canvas.getBoundingClientRect();
    const scale = this.canvas.width / box.width;
    const x = (event.clientX - box.left) * scale;
    const y = (event.clientY - box.top) * scale;
    const radius = (Number(document.getElementById("brush-size").value) / 2) * scale;
    const restore = document.querySelector("input[name=brush]:checked").value === "restore";
    const context = this.context;
    context.save();
    context.beginPath();
    context.arc(x, y, radius, 0, Math.PI * 2);
    context.clip();
    if (restore) {
      context.globalCompositeOperation = "copy";
      context.drawImage(this.original, 0, 0, this.canvas.width, this.canvas.height);
    } else {
      context.clearRect(x - radius, y - radius, radius * 2, radius * 2);
    }
    context.restore();
  }

  // The corrected cutout (PNG) and its mask (greyscale PNG from the alpha channel).
  async save() {
    const cutout = await new Promise((resolve) => this.canvas.toBlob(resolve, "image/png"));
    const { width, height } = this.canvas;
    const pixels = this.context.getImageData(0, 0, width, height);
    const maskCanvas = document.createElement("canvas");
    maskCanvas.width = width;
    maskCanvas.height = height;
    const maskContext = maskCanvas.getContext("2d");
    const mask = maskContext.createImageData(width, height);
    for (let i = 0; i < pixels.data.length; i += 4) {
      const alpha = pixels.data[i + 3];
      mask.data[i] = mask.data[i + 1] = mask.data[i + 2] = alpha;
      mask.data[i + 3] = 255;
    }
    maskContext.putImageData(mask, 0, 0);
    const maskBlob = await new Promise((resolve) => maskCanvas.toBlob(resolve, "image/png"));
    return { cutout, mask: maskBlob };
  }
}
