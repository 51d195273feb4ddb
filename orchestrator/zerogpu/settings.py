"""ZeroGPU's knobs: the visitors' daily quotas by tier and the scheduler's time limits.

Defaults follow the Hub's ZeroGPU documentation (usage tiers, 2026): unauthenticated visitors get
2 minutes of GPU time a day, signed-in (free) accounts 5 minutes, PRO 40 minutes; the included daily
quota "resets exactly 24 hours after your first GPU usage". The Hub publishes no per-call maximum; its
refusals ("The requested GPU duration (270s) is larger than the maximum allowed" for an anonymous
visitor, "Subscribe to Hugging Face PRO to allow GPU tasks up to 40 min") match a per-call cap equal to
the tier's daily quota, which is what we default to: a call that could never fit in a day is refused
as an illegal duration (waiting does not help) rather than as over quota.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from orchestrator.errors import InvalidInputError


class Tier(StrEnum):
    """A visitor's quota tier. ``pro`` is the higher tier an admin grants."""

    ANONYMOUS = "anonymous"
    REGULAR = "regular"
    PRO = "pro"


class TierLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    daily_s: int = Field(ge=0, description="GPU-seconds a visitor of this tier may use per quota window")
    max_call_s: int | None = Field(
        default=None, ge=1, description="Longest single call (quota seconds); default: daily_s"
    )

    @property
    def call_cap_s(self) -> int:
        return self.daily_s if self.max_call_s is None else self.max_call_s


def _hub_tiers() -> dict[Tier, TierLimits]:
    return {
        Tier.ANONYMOUS: TierLimits(daily_s=2 * 60),
        Tier.REGULAR: TierLimits(daily_s=5 * 60),
        Tier.PRO: TierLimits(daily_s=40 * 60),
    }


class ZeroGPUSettings(BaseModel):
    """Everything the scheduler decides by; a file of the same keys overrides any of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tiers: dict[Tier, TierLimits] = Field(default_factory=_hub_tiers)
    quota_window_s: int = Field(default=24 * 3600, ge=1)
    grace_s: float = Field(
        default=10.0, ge=0, description="How long a call may run past its duration before its worker is ended"
    )
    queue_timeout_s: float = Field(
        default=60.0, gt=0, description="How long a call waits in the queue (the client says 'after 60s')"
    )
    ping_interval_s: float = Field(default=2.0, gt=0, description="Keep-alive events on a queued call")
    max_active_calls: int = Field(
        default=8, ge=1, description="Calls one visitor may have queued or running at once (the runs limit)"
    )
    space_concurrency: int = Field(
        default=2, ge=1, description="Default number of calls one Space may run at once"
    )
    liveness_interval_s: float = Field(
        default=1.0, gt=0, description="How often running workers are checked for a crash"
    )

    @model_validator(mode="before")
    @classmethod
    def _hub_figures_for_tiers_not_given(cls, raw: Any) -> Any:
        """Settings may override one tier and keep the Hub's figures for the others."""
        if isinstance(raw, dict) and isinstance(raw.get("tiers"), dict):
            return {**raw, "tiers": {**_hub_tiers(), **raw["tiers"]}}
        return raw

    def limits(self, tier: Tier) -> TierLimits:
        return self.tiers[tier]


def load_settings(path: Path) -> ZeroGPUSettings:
    """Read a settings file (YAML or JSON); errors name the file and the key at fault."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"{path}: cannot read the ZeroGPU settings: {exc}") from exc
    try:
        return ZeroGPUSettings.model_validate(raw)
    except ValidationError as exc:
        raise file_error(path, exc) from exc


def file_error(path: Path, exc: ValidationError) -> InvalidInputError:
    """The first fault of a ZeroGPU file, named by file and key (``pool.yaml: devices.0.size: ...``)."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return InvalidInputError(f"{path}: {where}: {first['msg']}")
