"""The control plane's configuration, read once from ``SPACES_*`` environment variables.

Every field has a default that gives the embedded single-machine setup: SQLite and bare git repos
under ``data_dir``, builds in-process, the runtime chosen automatically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

RuntimeName = Literal["auto", "process", "container"]


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "spaces-orchestrator"


class Settings(BaseSettings):
    """Configuration of one control plane."""

    model_config = SettingsConfigDict(env_prefix="SPACES_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Where the database, Space repos, environments and logs live."""

    database_url: str = ""
    """SQLAlchemy URL; empty means SQLite at ``data_dir/spaces.db``. A PostgreSQL URL works unchanged."""

    host: str = "0.0.0.0"
    """Address the control plane listens on."""

    port: int = 8000
    """Port the control plane (API, git and the app proxy) listens on."""

    domain: str = "localhost:8000"
    """Apps are served at ``http://{owner}-{name}.{domain}``; the API at ``http://{domain}``."""

    public_url: str = ""
    """Base URL of the control plane as users reach it; empty means ``http://{domain}``."""

    runtime: RuntimeName = "auto"
    """``process`` (local processes), ``container`` (Docker Engine API) or ``auto``: container if an
    engine answers, else process."""

    container_host: str = ""
    """Docker Engine API address (``unix:///run/podman/podman.sock``); empty: ``DOCKER_HOST`` or the
    usual sockets of Docker and Podman."""

    base_image_prefix: str = "localhost/spaces"
    """Repository prefix of the runtime base images built by ``runtime-images/build.sh``."""

    startup_duration_timeout: float = 30 * 60
    """Default seconds an app may take to answer on its port (the front matter can override it)."""

    warm_standby: bool = True
    """Keep one pre-started interpreter per running Space, with its SDK already imported, so the next
    version of the Space starts in about a second instead of paying the import again."""

    drain_seconds: float = 30.0
    """After traffic moves to a new version, how long the old one may finish open requests."""

    front_door: bool = True
    """Serve the public port with the front door (``orchestrator.proxy.frontdoor``, a uvloop byte relay
    for app hosts, the API relayed to uvicorn on an internal socket); ``false``: uvicorn serves the port
    and app hosts go through the ASGI proxy."""

    default_sleep_time: float = 48 * 3600
    """Seconds without a request or open connection after which a Space on free hardware (``cpu-basic``)
    sleeps, unless it has its own sleep time (``-1``: never). Other hardware never sleeps by default."""

    sleep_check_interval: float = 10.0
    """How often the idle controller looks for Spaces to put to sleep."""

    sleep_stop_after: float = 15 * 60
    """Seconds a Space stays frozen (memory kept, wakes in milliseconds) before it is stopped and its
    memory freed (wakes with a cold start)."""

    sleep_memory_floor_mb: int = 0
    """Stop frozen Spaces early while the machine has less than this much memory available (0: off)."""

    sleep_spares: int = 2
    """Spares kept for sleeping Spaces: pre-started interpreters with the SDK imported, one per
    dependency set (the most common among sleeping Spaces first), shared by every Space of that set, so
    that a stopped Space wakes without importing its SDK again. Started when a Space freezes, whose own
    standby is stopped then (it comes back with a thaw); none are kept while available memory is within
    512 MiB of ``sleep_memory_floor_mb``. 0: none (a stopped Space wakes with a cold start)."""

    wake_hold_seconds: float = 20.0
    """How long a request to a sleeping Space is held while it wakes, before the visitor gets a
    "waking up" page (browsers) or a 503 with ``Retry-After`` (API clients)."""

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'spaces.db'}"

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.domain}").rstrip("/")

    def app_url(self, subdomain: str) -> str:
        scheme = self.effective_public_url.split("://", 1)[0]
        return f"{scheme}://{subdomain}.{self.domain}/"

    @property
    def repos_dir(self) -> Path:
        return self.data_dir / "repos"

    @property
    def envs_dir(self) -> Path:
        return self.data_dir / "envs"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"
