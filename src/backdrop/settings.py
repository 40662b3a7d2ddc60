"""One settings object for the whole service, read from `BACKDROP_*` environment variables.

Built once at each entry point (CLI command, app factory) and passed down; nothing reads it
at import time.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from backdrop.kinds import DEFAULT_MODEL, GenerationEngine

# An allow-list entry's port: "host:8443" or "[v6]:8443" (a bare IPv6 address has none).
_HOST_AND_PORT = re.compile(r"^(?:\[[^\]]*\]|[^:\[\]]*):(\d+)$")

MAX_UPLOAD_BYTES = 5_242_880  # LightX's documented limit (5 MB).
MAX_THREADS = 256  # per model run


class LimitSettings(BaseModel):
    """What a client may send."""

    max_upload_bytes: int = Field(default=MAX_UPLOAD_BYTES, ge=1)
    # A decoded image larger than this is refused before its pixels are allocated
    # (a 5 MB PNG can claim 40000x40000 pixels).
    max_pixels: int = Field(default=40_000_000, ge=1)
    # Images are decoded in child processes (imaging/isolation.py), at most this many at a
    # time per upload checker and per worker: decoding is CPU-bound and the API process keeps
    # its cores for requests.
    decode_workers: int = Field(default=2, ge=1, le=64)
    # A decode that takes longer is killed and the image refused (upload: 400, order: failed
    # uncharged). A 40 Mpx photo decodes in about a second; this leaves room for slow cores.
    decode_seconds: float = Field(default=10.0, gt=0)
    max_prompt_chars: int = Field(default=1000, ge=1)


class LifetimeSettings(BaseModel):
    """How long URLs and files live (LightX: upload URL 3599 s, images 24 h)."""

    upload_url_seconds: int = Field(default=3599, ge=1)
    image_seconds: int = Field(default=24 * 3600, ge=1)
    sweep_interval_seconds: float = Field(default=300.0, gt=0)


class WorkerSettings(BaseModel):
    """The in-process worker pool that runs orders."""

    concurrency: int = Field(default=1, ge=1, le=64)
    queue_size: int = Field(default=1000, ge=1)
    max_retries_allowed: int = Field(default=5, ge=1)
    # Shown as avgResponseTimeInSec until real orders have been timed (or measured at start).
    default_response_seconds: int = Field(default=5, ge=1)
    # Time one 1 MP order of each kind at start (about 1-2 s), so the first client is quoted
    # what this machine takes rather than the default above.
    measure_at_start: bool = True
    # New orders are refused (503 + Retry-After) when they would take longer than this to be
    # done (queue wait + run): a LightX client polls 5 times, 3 s apart, then gives up.
    max_wait_seconds: float = Field(default=15.0, gt=0)
    # On SIGTERM the running orders get this long to finish; queued ones wait for the next start.
    drain_seconds: float = Field(default=30.0, ge=0)


class ConnectionSettings(BaseModel):
    """Connection hygiene for `backdrop serve` (serving/connections.py)."""

    # A connection must deliver its request headers this long after it opens (or after its
    # partial headers begin on a kept-alive connection): slowloris clients are cut off.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # Longest pause between two pieces of a request body.
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    # Open connections for the whole server and from one client address; more are closed at
    # once, so one address can never take every file descriptor.
    max_connections: int = Field(default=4096, ge=1)
    max_connections_per_address: int = Field(default=64, ge=1)
    # The soft open-file limit is raised to this (or to the hard limit) at start.
    open_files: int = Field(default=65536, ge=256)


class RateLimitSettings(BaseModel):
    """Per-key and per-address limits, in the `limits` library's notation ("10/second")."""

    # memory:// for one process; redis://host:6379/0 so that every API node shares the counts.
    storage_url: str = "memory://"
    key_prefix: str = "backdrop"
    requests: str = "20/second"
    orders: str = "120/minute"
    # Orders of one key waiting in the queue (init) at a time.
    waiting_orders: int = Field(default=100, ge=1)
    upload_bytes: str = "2000000000/hour"
    # Requests with a missing or wrong API key, per client address.
    failed_auth: str = "30/minute"


class LogSettings(BaseModel):
    """What the server prints: one line per request, the service's own INFO lines."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class InferenceSettings(BaseModel):
    """How segmentation models run (engines/inference.py)."""

    model_config = ConfigDict(frozen=True)

    # auto: onnxruntime on a CUDA GPU, else OpenVINO when installed, else onnxruntime on the CPU.
    runtime: Literal["auto", "onnxruntime", "openvino"] = "auto"
    # auto: chosen per CPU at start (engines/choice.py): bf16 where the CPU has AMX (OpenVINO),
    # else the model's int8 graph (AVX2), else f32; f32 / bf16: the fp32 graph computed so
    # (bf16: OpenVINO only); int8: the model's int8 graph where it has one.
    precision: Literal["auto", "f32", "bf16", "int8"] = "auto"
    # Threads per model run; None: the physical cores this process may use (its CPU affinity,
    # at most a container's CPU quota, at most MAX_THREADS), counted where a session is opened
    # (engines/inference.py `model_threads`). On OpenVINO, runs of one model take turns, so a
    # pool running several orders at once still makes one model call at a time.
    threads: int | None = Field(default=None, ge=1, le=MAX_THREADS)
    # auto: a CUDA GPU when onnxruntime offers one, else the CPU; cuda: a GPU or nothing (a
    # worker asked for CUDA without a usable GPU exits naming the cause, never falls back to
    # the CPU: engines/gpu.py); cpu: the CPU even where a GPU is present.
    device: Literal["auto", "cpu", "cuda"] = "auto"


class DiffusionSettings(BaseModel):
    """The optional diffusion engine (`pip install backdrop[diffusion]`, a GPU and weights)."""

    # A model id in the Hugging Face cache, or a local folder saved with save_pretrained.
    model: str = "diffusers/stable-diffusion-xl-1.0-inpainting-0.1"
    # Never download at run time unless the operator allows it.
    local_files_only: bool = True
    device: str = "auto"  # "auto" = CUDA when present, else CPU
    steps: int = Field(default=30, ge=1, le=200)
    guidance: float = Field(default=7.5, ge=0.0, le=50.0)
    strength: float = Field(default=0.99, gt=0.0, le=1.0)
    # How far the repainted area is grown into the subject's edges (input pixels), so no ring
    # of the old background stays behind soft edges.
    mask_dilation: int = Field(default=6, ge=0, le=64)


class FetchSettings(BaseModel):
    """Which image URLs from elsewhere the remove.bg endpoint may fetch (storage/fetch.py).

    Empty: none; only this server's own image URLs are taken. "*" allows any public host; a
    host named here may also resolve to a private address (an intranet image server).
    An entry without a port allows ports 80 and 443 only; another port is named with the
    host: "images.example.com:8443", "[2001:db8::1]:8443", "*:8443".
    """

    allowed_hosts: list[str] = []
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_redirects: int = Field(default=3, ge=0, le=10)

    @field_validator("allowed_hosts")
    @classmethod
    def _ports_in_range(cls, entries: list[str]) -> list[str]:
        # A typo in a port should stop the server at start, not fail each fetch.
        for entry in entries:
            match = _HOST_AND_PORT.match(entry.strip())
            if match is not None and not 0 < int(match.group(1)) < 65536:
                raise ValueError(f"{entry!r}: the port must be 1-65535")
            one_colon = entry.count(":") == 1 and not entry.startswith("[")
            if match is None and ("]:" in entry or one_colon):
                raise ValueError(f"{entry!r}: give host:port with a port of 1-65535")
        return entries


class RemoveBgSettings(BaseModel):
    """The remove.bg-compatible endpoint, which answers once the order has run."""

    # How long a request waits for its order before answering 503 with the order id.
    wait_seconds: float = Field(default=120.0, gt=0)


class GenerationSettings(BaseModel):
    """Which background generator runs when a request names none."""

    engine: str = GenerationEngine.STUDIO
    diffusion: DiffusionSettings = DiffusionSettings()


class QueueSettings(BaseModel):
    """Who runs orders: the in-process pool (default) or Celery workers (scale-out)."""

    backend: Literal["embedded", "celery"] = "embedded"
    # amqp://guest:guest@127.0.0.1:5672// or redis://127.0.0.1:6379/0
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    # The broker queue the API nodes publish to and the workers consume.
    name: str = "backdrop"
    # A worker holds an order for this long and renews it while it runs; a worker killed
    # mid-order stops renewing, and another one takes the order over once it expires.
    lease_seconds: float = Field(default=30.0, gt=0)
    # An order no worker has claimed this long after it was queued is queued again (its
    # message was lost); a second delivery of a queued order is harmless.
    requeue_seconds: float = Field(default=600.0, gt=0)
    # How often the cluster's one sweeper looks for orders whose lease has expired.
    recover_interval_seconds: float = Field(default=10.0, gt=0)


class DatabaseSettings(BaseModel):
    """What a process does with the database's schema at start (the URL is
    BACKDROP_DATABASE_URL, kept at the top level where it has always been)."""

    # True: migrate at start, under a lock, so processes may start together. False: the
    # migrations are a separate step (`backdrop db upgrade`, a Kubernetes Job), and a
    # process refuses a database that is not at its code's schema.
    migrate_on_start: bool = True


class StorageSettings(BaseModel):
    """Where images live: files under the data dir (default) or an S3-compatible bucket."""

    backend: Literal["local", "s3"] = "local"
    bucket: str = "backdrop"
    # Any S3-compatible endpoint (MinIO, R2, moto, ...); unset = AWS. Credentials come from
    # boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, roles).
    endpoint_url: str | None = None
    region: str = "us-east-1"


class Settings(BaseSettings):
    """All of backdrop's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="BACKDROP_", env_nested_delimiter="__", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path("data")
    # Where the service is reached from outside (behind a proxy); URLs handed out start with it.
    # Unset behind a trusted proxy: URLs follow the host and scheme the proxy forwards.
    public_url: str | None = None
    # Addresses or networks (IPv4/IPv6, CIDR) of the reverse proxies in front of this node;
    # only their forwarded headers are believed (api/forwarded.py). Empty: none, not even
    # loopback: by default every local process would be a proxy that can claim any address.
    # Env: a JSON list or comma-separated, `BACKDROP_TRUSTED_PROXIES=127.0.0.1,10.0.0.0/8`.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Which headers those proxies write: X-Forwarded-For/-Proto/-Host (nginx, HAProxy, most
    # load balancers) or RFC 7239 Forwarded. Only one family is read: a proxy passes the
    # other family through from the client untouched, so reading both would let it lie.
    forwarded_headers: Literal["x-forwarded", "forwarded"] = "x-forwarded"
    # SQLAlchemy URL; default: SQLite in the data dir.
    database_url: str | None = None
    database: DatabaseSettings = DatabaseSettings()
    models_dir: Path = Path.home() / ".cache" / "backdrop" / "models"
    segmentation_model: str = DEFAULT_MODEL
    # Models the operator adds (BiRefNet, U²-Net, local ONNX files); default:
    # <models_dir>/models.json when it exists. See README "Models".
    models_config: Path | None = None
    initial_key_credits: float = 100.0

    limits: LimitSettings = LimitSettings()
    lifetimes: LifetimeSettings = LifetimeSettings()
    worker: WorkerSettings = WorkerSettings()
    inference: InferenceSettings = InferenceSettings()
    generation: GenerationSettings = GenerationSettings()
    queue: QueueSettings = QueueSettings()
    storage: StorageSettings = StorageSettings()
    # Signs upload URLs; scale-out nodes must share it (embedded: kept in the data dir).
    signing_secret: str | None = None

    @property
    def scale_out(self) -> bool:
        """True when this node is one of several (Celery workers or a shared bucket)."""
        return self.queue.backend == "celery" or self.storage.backend == "s3"

    fetch: FetchSettings = FetchSettings()
    removebg: RemoveBgSettings = RemoveBgSettings()
    # Not "server": BACKDROP_SERVER is the CLI's remote server URL.
    connections: ConnectionSettings = ConnectionSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    log: LogSettings = LogSettings()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: Any) -> Any:
        """A JSON list or a comma-separated string (what an operator types in an env file)."""
        if not isinstance(value, str):
            return value
        if value.strip().startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"not a JSON list of addresses: {error}") from None
        return [entry for entry in (part.strip() for part in value.split(",")) if entry]

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, entries: list[str]) -> list[str]:
        # A typo here would silently trust no one (or the wrong hosts): refuse it at start.
        for entry in entries:
            try:
                ipaddress.ip_network(entry.strip())
            except ValueError as error:
                raise ValueError(
                    f"{entry!r} is not an IP address or network: {error} (write e.g. "
                    "10.0.0.5, 10.0.0.0/8 or fd00::/8; host names are not accepted)"
                ) from None
        return [entry.strip() for entry in entries]

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'backdrop.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def secret_path(self) -> Path:
        return self.data_dir / "signing.key"
