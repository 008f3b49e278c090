"""Environment, constants and HTTP clients (compat-source A.1, A.2, A.14)."""

from __future__ import annotations

import os
import pathlib
import socket
import time
from dataclasses import dataclass, field
from importlib import metadata

import httpx

PROCESS_START_TIME = time.time()

SHUTDOWN_REQUESTED = ".shutdown_requested"
SHUTDOWN_NOW = ".shutdown_now"
FATAL_ERROR = ".fatal_error"
MARKERS = (SHUTDOWN_NOW, SHUTDOWN_REQUESTED, FATAL_ERROR)

DEFAULT_API_BASE = "https://api.together.ai"


def normalize_api_base(value: str | None) -> str:
    """Vendor quirk: prepend https:// unless present. Gantry: http:// is accepted as given."""
    base = value or DEFAULT_API_BASE
    if not (base.startswith("https://") or base.startswith("http://")):
        base = "https://" + base
    return base.rstrip("/")


def _sprocket_version() -> str:
    try:
        return " sprocket/" + metadata.version("sprocket")
    except metadata.PackageNotFoundError:
        return ""


def _read_version_file() -> str:
    try:
        return pathlib.Path("VERSION").read_text().strip()
    except OSError:
        return ""


def positive_env(key: str, default: float) -> float:
    """A positive number of seconds from the environment; a bad value stops the worker at start."""
    raw = os.environ.get(key, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{key}: {raw!r} is not a positive number of seconds")
    return value


def marker(name: str) -> pathlib.Path:
    """Marker files live in the working directory, as in the original; Gantry's local scheduler gives each
    replica its own directory instead (SPROCKET_MARKER_DIR), since its replicas share one working directory."""
    base = os.environ.get("SPROCKET_MARKER_DIR")
    return (pathlib.Path(base) if base else pathlib.Path.cwd()) / name


def touch(name: str) -> None:
    try:
        marker(name).touch()
    except OSError:
        pass


def exists(name: str) -> bool:
    return marker(name).exists()


@dataclass
class Config:
    name: str
    api_base: str = field(default_factory=lambda: normalize_api_base(os.environ.get("TOGETHER_API_BASE_URL")))
    api_key: str | None = field(default_factory=lambda: os.environ.get("TOGETHER_API_KEY"))
    max_async_predict_time: int = field(
        default_factory=lambda: int(os.environ.get("TERMINATION_GRACE_PERIOD_SECONDS", "300")) - 1
    )
    hostname: str = field(default_factory=socket.gethostname)
    version: str = field(default_factory=_read_version_file)
    sprocket_version: str = field(default_factory=_sprocket_version)
    # Gantry-only knob (tests, short leases): GANTRY_SPROCKET_HEARTBEAT_SECONDS, default 45.
    heartbeat_interval: float = field(
        default_factory=lambda: float(os.environ.get("GANTRY_SPROCKET_HEARTBEAT_SECONDS", "45"))
    )
    # Gantry: how long a finished job's `done`/`failed` update is retried before the worker gives up
    # (GANTRY_SPROCKET_STATUS_RETRY_SECONDS, default 180: longer than a restart or a leader failover).
    status_retry_seconds: float = field(
        default_factory=lambda: positive_env("GANTRY_SPROCKET_STATUS_RETRY_SECONDS", 180.0)
    )
    info_interval: float = 0.5

    @property
    def retrieve_url(self) -> str:
        return f"{self.api_base}/internal/v1/queue/retrieve"

    @property
    def update_url(self) -> str:
        return f"{self.api_base}/internal/v1/videos/status"

    @property
    def upload_url(self) -> str:
        return f"{self.api_base}/v1/storage/upload-request"

    def internal_headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.api_key}",
            "User-Agent": f"python-httpx/{httpx.__version__}{self.sprocket_version} "
            f"{self.name}/{self.version or 'unknown'}",
        }
        if self.version:
            headers["x-worker-version"] = self.version
        return headers

    def internal_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            headers=self.internal_headers(), timeout=None, transport=httpx.AsyncHTTPTransport(retries=2)
        )

    def internal_sync_client(self) -> httpx.Client:
        return httpx.Client(headers=self.internal_headers(), timeout=None, transport=httpx.HTTPTransport(retries=2))

    def external_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=None, transport=httpx.AsyncHTTPTransport(retries=2))

    def download_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=None, follow_redirects=True, transport=httpx.AsyncHTTPTransport(retries=2)
        )
