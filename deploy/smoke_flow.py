"""Smoke-test a running backdrop as a LightX client does: upload URL, PUT, order, poll, fetch.

    python deploy/smoke_flow.py --base http://127.0.0.1:8000 --key KEY

Prints one JSON object (each step's seconds, the order's status, the result's size) and exits
0 when the order ended `active` and its output and mask were served; 1 otherwise. Needs httpx
and Pillow (both backdrop dependencies). Used by deploy/image-test.sh against the image.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from typing import Any

import httpx
from PIL import Image, ImageDraw

POLL_SECONDS = 1.0


def photo() -> bytes:
    """A 640x480 JPEG of a dark disc on a light, textured ground: a subject to cut out."""
    image = Image.new("RGB", (640, 480), (228, 224, 214))
    draw = ImageDraw.Draw(image)
    for x in range(0, 640, 16):
        draw.line([(x, 0), (x, 480)], fill=(210, 206, 196))
    draw.ellipse([200, 110, 440, 370], fill=(150, 40, 30), outline=(60, 20, 10), width=6)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _post(client: httpx.Client, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/external/api{path}", json=payload)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    if data.get("statusCode") != 2000:
        raise RuntimeError(f"{path}: {data}")
    body: dict[str, Any] = data["body"]
    return body


def run(base: str, key: str, deadline_seconds: float) -> dict[str, Any]:
    timings: dict[str, float] = {}
    image = photo()
    with httpx.Client(base_url=base, headers={"x-api-key": key}, timeout=30.0) as client:
        start = time.monotonic()
        body = _post(
            client,
            "/v2/uploadImageUrl",
            {"uploadType": "imageUrl", "size": len(image), "contentType": "image/jpeg"},
        )
        timings["upload_url"] = time.monotonic() - start
        # The presigned PUT carries no API key, as LightX's does not.
        step = time.monotonic()
        put = httpx.put(
            body["uploadImage"], content=image, headers={"Content-Type": "image/jpeg"}, timeout=30
        )
        put.raise_for_status()
        timings["put"] = time.monotonic() - step
        step = time.monotonic()
        order = _post(client, "/v1/remove-background", {"imageUrl": body["imageUrl"]})
        timings["order"] = time.monotonic() - step
        status: dict[str, Any] = {"status": order["status"]}
        while status["status"] not in {"active", "failed"}:
            if time.monotonic() - start > deadline_seconds:
                break
            time.sleep(POLL_SECONDS)
            status = _post(client, "/v1/order-status", {"orderId": order["orderId"]})
        timings["to_active"] = time.monotonic() - step
        result: dict[str, Any] = {"status": status["status"], "order_id": order["orderId"]}
        if status["status"] == "active":
            output = client.get(status["output"], follow_redirects=True)
            mask = client.get(status["mask"], follow_redirects=True)
            result["output_status"] = output.status_code
            result["mask_status"] = mask.status_code
            if output.status_code == 200:
                result["output_size"] = list(Image.open(io.BytesIO(output.content)).size)
        timings["total"] = time.monotonic() - start
        result["seconds"] = {name: round(value, 3) for name, value in timings.items()}
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", required=True, help="the server's address, e.g. http://127.0.0.1:8000"
    )
    parser.add_argument("--key", required=True, help="an API key with credits")
    parser.add_argument(
        "--deadline", type=float, default=120.0, help="seconds to wait for the order"
    )
    args = parser.parse_args()
    result = run(args.base.rstrip("/"), args.key, args.deadline)
    print(json.dumps(result))
    ok = (
        result["status"] == "active"
        and result.get("output_status") == 200
        and result.get("mask_status") == 200
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
