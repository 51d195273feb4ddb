"""A thin HTTP client of the control plane's API.

Each call returns the decoded JSON answer or raises a ``SpacesError`` carrying the server's
``{"error": message}`` (the subclass follows the status code: 401 ``AuthError``, 404
``NotFoundError``, ...). Transport failures become a ``SpacesError`` that names the URL.
It knows paths and payloads only as its callers pass them; it prints nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from orchestrator.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    SpacesError,
)

Params = Mapping[str, str]

_ERRORS_BY_STATUS: dict[int, type[SpacesError]] = {
    400: InvalidInputError,
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidInputError,
}

# Short calls may still wait on a git init or a database write; streams wait on the app forever.
_CALL_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_STREAM_TIMEOUT = httpx.Timeout(None, connect=5.0)


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
        if body.get("detail"):
            return f"invalid request: {body['detail']}"
    text = response.text.strip()
    return text[:500] if text else f"HTTP {response.status_code} {response.reason_phrase}"


def raise_for_status(response: httpx.Response) -> None:
    """Raise the ``SpacesError`` matching an error answer; do nothing on success."""
    if response.status_code < 400:
        return
    error = _ERRORS_BY_STATUS.get(response.status_code, SpacesError)
    raise error(_error_message(response))


def as_object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else raise: the server answered something unexpected."""
    if not isinstance(value, dict):
        raise SpacesError(f"unexpected answer from the control plane: {value!r:.200}")
    return value


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else raise."""
    if not isinstance(value, list):
        raise SpacesError(f"unexpected answer from the control plane: {value!r:.200}")
    return value


class ControlPlane:
    """The API of one control plane, called with one token (or none)."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _transport_error(self, exc: httpx.TransportError) -> SpacesError:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return SpacesError(
                f"cannot reach the control plane at {self.url}. Is it running? Start it with 'make up'."
            )
        return SpacesError(f"lost the connection to the control plane at {self.url}: {exc}")

    def request(self, method: str, path: str, *, json: Any = None, params: Params | None = None) -> Any:
        """Call ``path`` and return its JSON answer (``None`` for an empty body)."""
        try:
            with httpx.Client(headers=self._headers, timeout=_CALL_TIMEOUT) as http:
                response = http.request(method, self.url + path, json=json, params=params)
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc
        raise_for_status(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise SpacesError(f"the control plane answered {path} with something other than JSON") from exc

    def get(self, path: str, params: Params | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None, params: Params | None = None) -> Any:
        return self.request("POST", path, json=json, params=params)

    def delete(self, path: str, json: Any = None) -> Any:
        return self.request("DELETE", path, json=json)

    @contextmanager
    def stream_lines(self, path: str, params: Params | None = None) -> Iterator[Iterator[str]]:
        """Open a long-lived GET and yield its lines as they arrive; no read timeout."""
        try:
            with (
                httpx.Client(headers=self._headers, timeout=_STREAM_TIMEOUT) as http,
                http.stream("GET", self.url + path, params=params) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    raise_for_status(response)
                yield self._lines(response)
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc

    def _lines(self, response: httpx.Response) -> Iterator[str]:
        try:
            yield from response.iter_lines()
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc
