# Each lambda below is called at once, inside its loop iteration (timed()).
# ruff: noqa: B023
"""A mixed load on a real `backdrop serve` (embedded default), written up as bench/LOAD.md.

Clients: LightX-style order clients (upload URL, PUT, order, poll every 3 s), a client with a
wrong key, a slowloris holding half-sent request heads, and a /health prober from another
address. Samples the server's RSS every 30 s. Traffic stays on 127.0.0.0/8.

    python bench/load.py --seconds 600 --out bench/LOAD.md
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import jpeg_bytes, subject_photo
from tests.servers import Server, create_key, start_server

API = "/external/api"


class Record:
    """Latencies per endpoint and answers by status, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[str, Counter[str]] = defaultdict(Counter)
        self.time_to_active: list[float] = []
        self.outcomes: Counter[str] = Counter()

    def add(self, endpoint: str, seconds: float, code: str) -> None:
        with self.lock:
            self.latency[endpoint].append(seconds)
            self.codes[endpoint][code] += 1


def timed(record: Record, endpoint: str, call: object) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response: httpx.Response = call()  # type: ignore[operator]
    except httpx.HTTPError as error:
        record.add(endpoint, time.perf_counter() - started, type(error).__name__)
        return None
    record.add(endpoint, time.perf_counter() - started, str(response.status_code))
    return response


def order_client(server: Server, key: str, stop: threading.Event, record: Record, n: int) -> None:
    data = jpeg_bytes(subject_photo(1024, 768)[0])
    headers = {"x-api-key": key}
    with httpx.Client(base_url=server.base_url, timeout=30, headers=headers) as http:
        count = 0
        while not stop.is_set():
            count += 1
            ask = timed(
                record,
                "POST uploadImageUrl",
                lambda: http.post(
                    API + "/v2/uploadImageUrl",
                    json={"uploadType": "imageUrl", "size": len(data), "contentType": "image/jpeg"},
                ),
            )
            if ask is None or ask.status_code != 200:
                stop.wait(1)
                continue
            body = ask.json()["body"]
            put = timed(
                record,
                "PUT image",
                lambda: httpx.put(
                    body["uploadImage"],
                    content=data,
                    headers={"Content-Type": "image/jpeg"},
                    timeout=30,
                ),
            )
            if put is None or put.status_code != 200:
                continue
            generate = (count + n) % 3 == 0
            path = "/v1/background-generator" if generate else "/v1/remove-background"
            payload = {"imageUrl": body["imageUrl"]}
            if generate:
                payload["textPrompt"] = "white marble studio, soft light"
            created_at = time.monotonic()
            made = timed(
                record,
                f"POST {path.rsplit('/', 1)[1]}",
                lambda: http.post(API + path, json=payload),
            )
            if made is None or made.status_code != 200:
                retry = made.headers.get("Retry-After", "1") if made is not None else "1"
                stop.wait(float(retry))
                continue
            order_id = made.json()["body"]["orderId"]
            outcome = "not done after 5 polls"
            for _ in range(5):
                if stop.wait(3):
                    break
                polled = timed(
                    record,
                    "POST order-status",
                    lambda: http.post(API + "/v1/order-status", json={"orderId": order_id}),
                )
                if polled is not None and polled.status_code == 200:
                    status = polled.json()["body"]["status"]
                    if status != "init":
                        outcome = status
                        if status == "active":
                            with record.lock:
                                record.time_to_active.append(time.monotonic() - created_at)
                        break
            with record.lock:
                record.outcomes[outcome] += 1


def bad_key_client(server: Server, stop: threading.Event, record: Record) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.5")
    with httpx.Client(base_url=server.base_url, timeout=10, transport=transport) as http:
        while not stop.wait(0.05):
            timed(
                record,
                "GET account (wrong key)",
                lambda: http.get(API + "/v1/account", headers={"x-api-key": "bd_wrong"}),
            )


def slowloris(
    server: Server, stop: threading.Event, counts: Counter[str], sockets: int = 300
) -> None:
    """Keeps up to `sockets` half-sent request heads open from one address."""
    open_socks: list[socket.socket] = []
    # Once a second: refused sockets are replaced at most at that pace.
    while not stop.wait(1):
        alive = []
        for sock in open_socks:
            try:
                sock.send(b"X-a: b\r\n")
                alive.append(sock)
            except OSError:
                counts["closed by server"] += 1
                sock.close()
        open_socks = alive
        while len(open_socks) < sockets:
            try:
                sock = socket.create_connection(
                    ("127.0.0.1", server.port), timeout=2, source_address=("127.0.0.6", 0)
                )
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                open_socks.append(sock)
                counts["opened"] += 1
            except OSError:
                counts["connect failed"] += 1
                break
    for sock in open_socks:
        sock.close()


def health_prober(server: Server, stop: threading.Event, record: Record) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.7")
    with httpx.Client(base_url=server.base_url, timeout=10, transport=transport) as http:
        while not stop.wait(1):
            timed(record, "GET /health (other address)", lambda: http.get("/health"))


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def cpu() -> tuple[str, str]:
    info = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", info)
    flags = re.search(r"flags\s*:\s*(.+)", info)
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_vnni", "avx_vnni")
    present = [flag for flag in wanted if flags and f" {flag} " in f" {flags.group(1)} "]
    return (model.group(1).strip() if model else platform.processor()), " ".join(present)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/LOAD.md"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        key = create_key(server, 100_000)
        record, loris = Record(), Counter[str]()
        stop = threading.Event()
        threads = [
            threading.Thread(target=order_client, args=(server, key, stop, record, n))
            for n in range(args.clients)
        ]
        threads += [
            threading.Thread(target=bad_key_client, args=(server, stop, record)),
            threading.Thread(target=slowloris, args=(server, stop, loris)),
            threading.Thread(target=health_prober, args=(server, stop, record)),
        ]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        rss: list[tuple[float, float]] = [(0.0, rss_mb(server.process.pid))]
        while time.monotonic() - started < args.seconds:
            time.sleep(min(30, args.seconds - (time.monotonic() - started)))
            rss.append((time.monotonic() - started, rss_mb(server.process.pid)))
        stop.set()
        for thread in threads:
            thread.join(60)
        metrics = httpx.get(server.base_url + "/metrics").text
        server.process.send_signal(signal.SIGTERM)
        exit_code = server.process.wait(60)
    refusals = re.findall(
        r'^backdrop_(limit_refusals|connections_closed)_total\{(?:limit|reason)="([^"]+)"\} (\S+)',
        metrics,
        re.M,
    )
    model, flags = cpu()
    lines = [
        "# Load: a mixed 10-minute run on the embedded default",
        "",
        f"`python bench/load.py --seconds {args.seconds:g} --clients {args.clients}` "
        "(a real `backdrop serve`: SQLite, local files, one worker, OpenVINO).",
        "",
        f"- CPU: {model}; {os.cpu_count()} cores visible; "
        f"ISA flags: {flags or 'none of avx2/avx512/amx'}",
        "- The machine was shared with other agents' builds and test suites during the run, "
        "so the times are upper bounds.",
        f"- Load: {args.clients} LightX-style order clients (1024x768 JPEG, 2/3 remove-background, "
        "1/3 background-generator, polling every 3 s, at most 5 times), one wrong-key client "
        "(20 req/s, 127.0.0.5), a slowloris keeping 300 half-sent heads open (127.0.0.6), a "
        "/health prober (127.0.0.7, 1/s).",
        f"- Exit code after SIGTERM at the end: {exit_code}",
        "",
        "## Latency and answers per endpoint",
        "",
        "| endpoint | requests | p50 ms | p95 ms | answers by code |",
        "|---|---|---|---|---|",
    ]
    for endpoint, values in sorted(record.latency.items()):
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(record.codes[endpoint].items()))
        lines.append(
            f"| {endpoint} | {len(values)} | {percentile(values, 0.5) * 1000:.0f} | "
            f"{percentile(values, 0.95) * 1000:.0f} | {codes} |"
        )
    tta = record.time_to_active
    lines += [
        "",
        "## Orders",
        "",
        f"- Outcomes as the clients saw them: {dict(record.outcomes)}",
        "- Time to active (order created → first poll that saw `active`; polls are 3 s apart): "
        + (
            f"p50 {statistics.median(tta):.1f} s, p95 {percentile(tta, 0.95):.1f} s, n={len(tta)}"
            if tta
            else "none"
        ),
        "",
        "## What the limits and the connection guard refused (server's /metrics)",
        "",
        "| metric | reason | count |",
        "|---|---|---|",
        *[f"| {kind} | {reason} | {float(count):.0f} |" for kind, reason, count in refusals],
        "",
        f"Slowloris client: {dict(loris)}",
        "",
        "## Server RSS, sampled every 30 s",
        "",
        "| t (s) | RSS (MB) |",
        "|---|---|",
        *[f"| {t:.0f} | {mb:.0f} |" for t, mb in rss],
    ]
    after_warmup = [mb for t, mb in rss if t >= 60]
    if after_warmup:
        spread = (max(after_warmup) - min(after_warmup)) / min(after_warmup) * 100
        lines += [
            "",
            f"After warm-up (t ≥ 60 s) RSS stayed within {spread:.1f}% "
            f"({min(after_warmup):.0f}-{max(after_warmup):.0f} MB).",
        ]
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
