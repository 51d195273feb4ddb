"""Hardware flavors: the names the Hub's client knows, and which of them this server offers."""

from __future__ import annotations

from orchestrator.errors import InvalidInputError

OFFERED = ("cpu-basic",)

KNOWN = (
    "cpu-basic",
    "cpu-upgrade",
    "zero-a10g",
    "t4-small",
    "t4-medium",
    "l4x1",
    "l4x4",
    "l40sx1",
    "l40sx4",
    "l40sx8",
    "a10g-small",
    "a10g-large",
    "a10g-largex2",
    "a10g-largex4",
    "a100-large",
    "a100x4",
    "a100x8",
    "h100",
    "h100x8",
)


def validate_hardware(name: str) -> str:
    if name in OFFERED:
        return name
    offered = ", ".join(OFFERED)
    if name in KNOWN:
        raise InvalidInputError(f"Hardware {name!r} is not available on this server. Available: {offered}.")
    raise InvalidInputError(f"Unknown hardware {name!r}. Available on this server: {offered}.")
