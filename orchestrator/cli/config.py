"""Where the CLI finds the control plane's URL and the token it sends.

The URL comes from ``--url``, else ``SPACES_URL``, else ``http://localhost:8000``.
The token comes from, in order: ``--token``, ``SPACES_TOKEN``, ``HF_TOKEN``, the file written by
``spaces login`` (``~/.config/spaces/token``), and, only when the control plane is on this machine,
the admin token the server writes on first start (``$SPACES_DATA_DIR/admin_token``).
This module reads files and the environment; it makes no HTTP calls.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_URL = "http://localhost:8000"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class Credentials:
    """The token to send, if any, and where it was found (shown when the server rejects it)."""

    token: str | None
    source: str


@dataclass(frozen=True)
class CliConfig:
    """What every command needs to reach the control plane."""

    url: str
    credentials: Credentials


def token_file() -> Path:
    """The file ``spaces login`` writes."""
    return Path.home() / ".config" / "spaces" / "token"


def data_dir(environ: Mapping[str, str]) -> Path:
    """The server's data directory, as the server computes it (``SPACES_DATA_DIR``)."""
    configured = environ.get("SPACES_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "share" / "spaces-orchestrator"


def is_local(url: str) -> bool:
    """Whether ``url`` points at a control plane on this machine."""
    return (urlsplit(url).hostname or "") in LOCAL_HOSTS


def _read_token(path: Path) -> str | None:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return token or None


def resolve_credentials(
    url: str, explicit: str | None, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Find the token for ``url``, following the order in the module docstring."""
    env = os.environ if environ is None else environ
    if explicit:
        return Credentials(explicit, "--token")
    for name in ("SPACES_TOKEN", "HF_TOKEN"):
        if env.get(name):
            return Credentials(env[name], f"${name}")
    saved = token_file()
    token = _read_token(saved)
    if token:
        return Credentials(token, str(saved))
    if is_local(url):
        admin = data_dir(env) / "admin_token"
        token = _read_token(admin)
        if token:
            return Credentials(token, str(admin))
    return Credentials(None, "nowhere")


def resolve(url: str | None, token: str | None, environ: Mapping[str, str] | None = None) -> CliConfig:
    """The configuration for the given global options (``None`` when not given)."""
    env = os.environ if environ is None else environ
    base = (url or env.get("SPACES_URL") or DEFAULT_URL).rstrip("/")
    return CliConfig(base, resolve_credentials(base, token, env))


def save_token(token: str) -> Path:
    """Write ``token`` where ``resolve_credentials`` finds it, readable by this user only."""
    path = token_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    path.chmod(0o600)
    return path
