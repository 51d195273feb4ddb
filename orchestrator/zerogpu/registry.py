"""Which Spaces may use the device API, and the secret URL each of them is given.

One device API serves every ZeroGPU Space of a machine (they share its devices, queue and quotas). A
Space is recognised by a secret in the path of its ``SPACES_ZERO_DEVICE_API_URL``
(``http://<host>:<port>/<secret>``): the `spaces` client joins its calls onto that URL
(``/<secret>/schedule``...), so a Space's app authenticates every call without knowing it, and no app can
act as another Space (release its leases, spend its visitors' quota, attach its workers) without
that Space's secret, which only that Space's environment holds.

The secret is an HMAC of the Space's id under the data dir's ZeroGPU key, so it survives restarts of
the device API (a running app keeps its URL) and needs no storage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from orchestrator.zerogpu.leases import ZeroSpace


def space_secret(key: bytes, space_id: str) -> str:
    mac = hmac.new(key, b"zerogpu-space-url\0" + space_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()


def device_api_url(base_url: str, secret: str) -> str:
    """The ``SPACES_ZERO_DEVICE_API_URL`` of one Space."""
    return f"{base_url.rstrip('/')}/{secret}"


class SpaceRegistry:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._by_secret: dict[str, ZeroSpace] = {}

    def register(self, space: ZeroSpace) -> str:
        """Let ``space`` call the device API (again, with new settings); returns its URL secret."""
        secret = space_secret(self._key, space.space_id)
        self._by_secret[secret] = space
        return secret

    def unregister(self, space_id: str) -> None:
        self._by_secret.pop(space_secret(self._key, space_id), None)

    def by_secret(self, secret: str) -> ZeroSpace | None:
        return self._by_secret.get(secret)
