"""The wire vocabulary of the device API, as the `spaces` package (0.51.3) reads it.

Owns the names and value sets the client branches on: query parameters, response headers, the
``X-Approve-Result`` values, the grant and over-quota bodies, and the server-sent events of a queued
call. It builds plain values only; the HTTP layer (``server.py``) sends them.

What the client does with each answer (``spaces/zero/client.py``):

- 200 JSON grant ``{"idle", "nvidiaIndex", "nvidiaUUID", "allowToken"}``: run on that device.
- 200 ``text/event-stream``: queued; ``ping`` keeps the stream alive (and lets the client notice a
  visitor who left), ``failed`` shows "No GPU was available after 60s", ``succeeded`` carries the grant.
  The client parses every chunk it reads as exactly one event, so each event is sent as its own chunk.
- 429 JSON ``{"left": <int seconds>, "wait": <seconds>}``: ``wait < 0`` is "requested duration larger
  than the maximum allowed", ``wait == 0`` "runs limit", otherwise "quota exceeded, try again in
  <wait>" (printed as ``str(timedelta)``, so whole seconds).
- 503: "No GPU was available"; 401: "Expired ZeroGPU proxy token".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

GPUSize = Literal["large", "xlarge"]
"""``large``: half a GPU (a MIG slice or a smaller card); ``xlarge``: a whole GPU, billed double."""

GPU_SIZES: tuple[GPUSize, ...] = ("large", "xlarge")

AuthLevel = Literal["regular", "pro"]
"""``X-Authenticated``: a signed-in visitor (``regular``) or one of the higher tier (``pro``)."""

QueuingReason = Literal["node", "concurrency"]
"""``X-Queuing-Reason``: every device is busy (``node``) or the Space runs its limit (``concurrency``)."""

ApproveResult = Literal["approved", "runs-exceeded", "quota-exceeded", "illegal-duration"]
"""``X-Approve-Result`` values this server sends (the client also knows ``pending-overquota-exceeded``,
which is about pre-paid credits, a thing this platform does not sell)."""

AUTHENTICATED_HEADER = "X-Authenticated"
QUEUING_REASON_HEADER = "X-Queuing-Reason"
APPROVE_RESULT_HEADER = "X-Approve-Result"

VISITOR_TOKEN_HEADER = "X-IP-Token"
"""Added by the platform's proxy to every request entering a ZeroGPU Space; the client forwards it to
``/schedule`` as the ``token`` query parameter."""

DEFAULT_DURATION_S = 60
"""What the client asks for when a function declares no duration (``DEFAULT_SCHEDULE_DURATION``)."""

SIZE_FACTOR: dict[GPUSize, int] = {"large": 1, "xlarge": 2}
"""Quota seconds charged per second of GPU time: an xlarge call counts double, as the client's
"(<n>s requested vs. <m>s left)" message already assumes."""


@dataclass(frozen=True)
class Grant:
    """A device handed to one call: the body of a 200 answer and of a ``succeeded`` event."""

    idle: bool
    nvidia_index: int
    nvidia_uuid: str
    allow_token: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "idle": self.idle,
                "nvidiaIndex": self.nvidia_index,
                "nvidiaUUID": self.nvidia_uuid,
                "allowToken": self.allow_token,
            },
            separators=(",", ":"),
        )


def over_quota_body(left_s: float, wait_s: int) -> str:
    """The 429 body: ``left`` must be a whole number for the client's model, ``wait`` is seconds."""
    return json.dumps({"left": int(left_s // 1), "wait": wait_s}, separators=(",", ":"))


def sse_event(name: Literal["ping", "failed", "succeeded"], data: str = "") -> bytes:
    """One server-sent event. ``succeeded`` needs exactly one ``data:`` line; the others none."""
    if data:
        return f"event: {name}\ndata: {data}\n\n".encode()
    return f"event: {name}\n\n".encode()
