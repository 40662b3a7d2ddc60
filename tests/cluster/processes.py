"""A cluster of real `backdrop` processes on PostgreSQL, a broker and S3 (moto)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from backdrop.queue.celery_queue import CeleryQueue
from backdrop.settings import QueueSettings
from tests.infra import free_port, wait_for_http


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def backdrop(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backdrop.cli", *args],
            env=self._env("cli"),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def start_api(self, name: str) -> str:
        port = free_port()
        self._spawn(name, ["serve", "--host", "127.0.0.1", "--port", str(port)])
        self.ports[name] = port
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/health", timeout=120)
        return url

    def start_worker(self, name: str, *, hostname: str | None = "{name}@%h", **env: str) -> None:
        """`backdrop worker --concurrency 1`, with `--hostname` unless it is None."""
        args = ["worker", "--concurrency", "1"]
        if hostname is not None:
            args += ["--hostname", hostname.format(name=name)]
        self._spawn(name, args, env)

    def wait_for_log(self, name: str, text: str, timeout: float = 300.0) -> None:
        """Until the process's log shows `text` (Celery says "ready." once it consumes)."""
        deadline = time.monotonic() + timeout
        log = self.root / f"{name}.log"
        while text not in log.read_text(errors="replace"):
            process = self.processes[name]
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{name} never logged {text!r}:\n{self.logs()}")
            time.sleep(0.2)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def terminate(self, name: str, timeout: float = 120.0) -> int:
        """SIGTERM, as an orchestrator stops a process; returns its exit status."""
        process = self.processes[name]
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout)

    def kill(self, pid: int) -> str:
        """kill -9 one of the cluster's processes; returns its name."""
        for name, process in self.processes.items():
            if process.pid == pid:
                os.kill(pid, signal.SIGKILL)
                process.wait(10)
                return name
        raise AssertionError(f"pid {pid} is not one of the cluster's processes")

    def rss_mib(self, name: str) -> float:
        status = Path(f"/proc/{self.processes[name].pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def maps(self, name: str) -> str:
        return Path(f"/proc/{self.processes[name].pid}/maps").read_text()

    def logs(self) -> str:
        parts = []
        for name in self.processes:
            log = self.root / f"{name}.log"
            parts.append(f"----- {name} -----\n{log.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _env(self, name: str) -> dict[str, str]:
        return {**os.environ, **self.env, "BACKDROP_DATA_DIR": str(self.root / name)}

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.root / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "backdrop.cli", *args],
            env={**self._env(name), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def post(base: str, path: str, key: str, payload: dict[str, object]) -> dict[str, object]:
    answer = httpx.post(f"{base}{path}", json=payload, headers={"x-api-key": key}, timeout=30)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()["body"]
    return body


@contextmanager
def running_cluster(root: Path, env: dict[str, str]) -> Iterator[Cluster]:
    """A cluster whose processes are stopped afterwards, and whose test queue (the broker and
    name `env` gives) is deleted so no message outlives the test."""
    started = Cluster(root, env)
    try:
        yield started
    finally:
        started.stop()
        queue = env["BACKDROP_QUEUE__NAME"]
        publisher = CeleryQueue(
            QueueSettings(
                backend="celery", broker_url=env["BACKDROP_QUEUE__BROKER_URL"], name=queue
            )
        )
        with publisher._app.connection() as connection:
            connection.default_channel.queue_delete(queue)
        publisher.stop()


def upload(base: str, key: str, data: bytes) -> str:
    """LightX's upload: an upload URL, the PUT, and the image URL to order with."""
    body = post(
        base,
        "/external/api/v2/uploadImageUrl",
        key,
        {"uploadType": "imageUrl", "size": len(data), "contentType": "image/jpeg"},
    )
    put = httpx.put(str(body["uploadImage"]), content=data, headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 200
    return str(body["imageUrl"])
