"""A real nginx (Debian's package) in front of API nodes, for tests: config, start, stop.

It runs in the foreground (`daemon off`) with its prefix, pid file, logs and temp folders in
the test's folder, so it needs no system configuration and leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

# The location block README "Behind a proxy" gives operators.
PROXY_LOCATION = """
        location / {
            proxy_pass http://backdrop;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            client_max_body_size 6m;
        }
"""


def nginx_binary() -> str | None:
    """Debian's nginx, also when /usr/sbin is not on a non-root PATH; None if not installed."""
    sbin = Path("/usr/sbin/nginx")
    return shutil.which("nginx") or (str(sbin) if sbin.is_file() else None)


def nginx_config(root: Path, port: int, upstreams: list[str]) -> str:
    servers = "\n".join(f"        server {address};" for address in upstreams)
    # As root, nginx's workers would drop to `nobody`, who cannot enter pytest's folders.
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
daemon off;
master_process on;
worker_processes 1;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream backdrop {{
{servers}
        keepalive 256;
    }}
    server {{
        listen 127.0.0.1:{port};
{PROXY_LOCATION}
    }}
}}
"""


@contextmanager
def running_nginx(binary: str, root: Path, port: int, upstreams: list[str]) -> Iterator[str]:
    """nginx on 127.0.0.1:`port` balancing `upstreams` (host:port); yields its base URL."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "nginx.conf"
    config.write_text(nginx_config(root, port, upstreams))
    command = [binary, "-p", str(root), "-c", str(config), "-e", str(root / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    log = (root / "nginx.out").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/livez", timeout=1.0)
                break
            except httpx.TransportError:
                assert process.poll() is None, (root / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
