"""Leader election on a ``coordination.k8s.io/v1`` Lease, as pure decisions and pure objects.

Exactly one controller is active: the holder of the Lease. Each candidate reads the Lease every
``retry`` seconds and feeds it to :func:`observe`, then acts on :func:`decide`:

- ``RENEW``: it holds the Lease; write :func:`renewed` (same holder, new ``renewTime``).
- ``ACQUIRE``: nobody holds it, or the holder has not renewed for ``leaseDurationSeconds``; write
  :func:`renewed` with itself as holder (a transition).
- ``WAIT``: someone else holds it; stand by.

Writes are replaces carrying the ``resourceVersion`` read, so two candidates taking over at once cannot
both win: the API server refuses the second with 409 Conflict, which means ``WAIT``. A missing Lease is
created with :func:`make_lease` (a 409 there too means another candidate was first).

Expiry is judged as client-go does, on the local monotonic clock from when this candidate *saw* the
record change, never by comparing ``renewTime`` with the local wall clock, so clock skew between
nodes cannot make two controllers active. A holder that stops renewing is taken over after
``leaseDurationSeconds``; a holder that cannot renew within ``renew_deadline`` of its last renewal must
stop acting as leader (``must_step_down``) before anyone else may take over.

``MicroTime`` fields are written with exactly six fractional digits: the API server refuses a
timestamp without them (the Python client's ``isoformat()`` drops a zero fraction).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.runtimes.kubernetes import bodies as b
from orchestrator.runtimes.kubernetes.names import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    validate_namespace,
    validate_object_name,
)


def format_micro_time(when: datetime) -> str:
    """``2024-05-01T12:00:00.000000Z``: a Kubernetes MicroTime, in UTC, with six fractional digits."""
    if when.tzinfo is None:
        raise ValueError("a MicroTime needs an aware datetime")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: str) -> datetime:
    """A MicroTime (or a plain RFC 3339 time) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class LeaseRecord:
    """What a Lease says about its holder (the fields that change hands)."""

    holder: str
    duration_s: int
    renew_time: str
    transitions: int

    @classmethod
    def of(cls, lease: Mapping[str, Any]) -> LeaseRecord:
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration_s=int(spec.get("leaseDurationSeconds") or 0),
            renew_time=str(spec.get("renewTime") or ""),
            transitions=int(spec.get("leaseTransitions") or 0),
        )


@dataclass(frozen=True)
class Observation:
    """A Lease record and when (monotonic seconds) this candidate first saw it as it is."""

    record: LeaseRecord
    seen_at: float


class Decision(enum.Enum):
    RENEW = "renew"
    ACQUIRE = "acquire"
    WAIT = "wait"


def make_lease(*, name: str, namespace: str, holder: str, duration_s: int, now: datetime) -> b.Lease:
    """A new Lease held by ``holder`` from ``now``."""
    if not holder:
        raise ValueError("a Lease holder needs an identity (the pod's name)")
    at = format_micro_time(now)
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": validate_object_name(name, "Lease name"),
            "namespace": validate_namespace(namespace),
            "labels": {MANAGED_BY_LABEL: MANAGED_BY},
        },
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration_s,
            "acquireTime": at,
            "renewTime": at,
            "leaseTransitions": 0,
        },
    }


def observe(previous: Observation | None, lease: Mapping[str, Any], *, now: float) -> Observation:
    """The observation after reading ``lease`` at monotonic time ``now``: the clock restarts only when
    the record changed (a renewal by the holder, or a new holder)."""
    record = LeaseRecord.of(lease)
    if previous is not None and previous.record == record:
        return previous
    return Observation(record, now)


def decide(observation: Observation, *, me: str, now: float) -> Decision:
    """What candidate ``me`` does about the Lease it observed (see the module docstring)."""
    record = observation.record
    if record.holder == me:
        return Decision.RENEW
    if not record.holder or now >= observation.seen_at + record.duration_s:
        return Decision.ACQUIRE
    return Decision.WAIT


def must_step_down(*, last_renewal: float, renew_deadline_s: float, now: float) -> bool:
    """Whether a leader that last renewed at ``last_renewal`` (monotonic) must stop leading: past its
    renew deadline, which is shorter than the Lease duration, so it stops before anyone takes over."""
    return now >= last_renewal + renew_deadline_s


def _replace(lease: Mapping[str, Any], spec: b.LeaseSpec) -> b.Lease:
    """A replace body for ``lease`` with ``spec``, keeping the identity and ``resourceVersion`` read."""
    metadata: Mapping[str, Any] = lease.get("metadata") or {}
    kept: b.ObjectMeta = {
        "name": str(metadata.get("name") or ""),
        "namespace": str(metadata.get("namespace") or ""),
    }
    if "resourceVersion" in metadata:
        kept["resourceVersion"] = str(metadata["resourceVersion"])
    if "labels" in metadata:
        kept["labels"] = dict(metadata["labels"])
    if "annotations" in metadata:
        kept["annotations"] = dict(metadata["annotations"])
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": kept, "spec": spec}


def renewed(lease: Mapping[str, Any], *, holder: str, duration_s: int, now: datetime) -> b.Lease:
    """``lease`` renewed by ``holder`` at ``now`` (taken over, if another held it), keeping its
    ``resourceVersion`` so that the replace fails if someone wrote it since it was read."""
    if not holder:
        raise ValueError("a Lease holder needs an identity (the pod's name)")
    record = LeaseRecord.of(lease)
    at = format_micro_time(now)
    old = lease.get("spec") or {}
    taken = record.holder != holder
    return _replace(
        lease,
        {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration_s,
            "acquireTime": at if taken else str(old.get("acquireTime") or at),
            "renewTime": at,
            "leaseTransitions": record.transitions + (1 if taken and record.holder else 0),
        },
    )


def released(lease: Mapping[str, Any], *, now: datetime) -> b.Lease:
    """``lease`` given up by its holder on a clean shutdown: no holder, so a standby acquires it at its
    next look instead of waiting out the duration."""
    at = format_micro_time(now)
    return _replace(
        lease,
        {
            "holderIdentity": "",
            "leaseDurationSeconds": 1,
            "acquireTime": at,
            "renewTime": at,
            "leaseTransitions": LeaseRecord.of(lease).transitions,
        },
    )
