"""Git LFS objects on disk and the pointer files that stand for them in a repository.

Owns the content-addressed store ``root/<oid[:2]>/<oid[2:4]>/<oid>`` (one store for all Spaces: an
object is its sha256, so a duplicated or renamed Space shares them) and the pointer format of the Git
LFS specification. Writing verifies the content against its oid and size; nothing here knows about
users, Spaces or HTTP.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import InvalidInputError

_OID = re.compile(r"^[0-9a-f]{64}$")
POINTER_MAX_SIZE = 1024
_POINTER = re.compile(
    rb"^version https://git-lfs\.github\.com/spec/v1\n"
    rb"oid sha256:(?P<oid>[0-9a-f]{64})\n"
    rb"size (?P<size>[0-9]+)\n$"
)


@dataclass(frozen=True)
class Pointer:
    """What an LFS pointer file says: the sha256 and the size of the real content."""

    oid: str
    size: int

    def render(self) -> bytes:
        return (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.oid}\nsize {self.size}\n"
        ).encode()


def parse_pointer(data: bytes) -> Pointer | None:
    """The pointer ``data`` holds, or ``None`` when it is an ordinary file."""
    if len(data) > POINTER_MAX_SIZE:
        return None
    match = _POINTER.match(data)
    if match is None:
        return None
    return Pointer(match["oid"].decode(), int(match["size"]))


def valid_oid(oid: str) -> bool:
    return bool(_OID.match(oid))


class LfsStore:
    """The LFS objects of every Space, by sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, oid: str) -> Path:
        if not valid_oid(oid):
            raise InvalidInputError(f"Invalid LFS object id {oid!r}: expected 64 lowercase hex digits.")
        return self.root / oid[:2] / oid[2:4] / oid

    def has(self, oid: str, size: int | None = None) -> bool:
        path = self.path(oid)
        return path.is_file() and (size is None or path.stat().st_size == size)

    def size(self, oid: str) -> int | None:
        path = self.path(oid)
        return path.stat().st_size if path.is_file() else None

    def write(self, oid: str, size: int | None, chunks: Iterable[bytes]) -> None:
        """Store ``chunks`` as object ``oid``; ``InvalidInputError`` if they are not that content."""
        target = self.path(oid)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        written = 0
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    digest.update(chunk)
                    written += len(chunk)
                    handle.write(chunk)
            if digest.hexdigest() != oid or (size is not None and written != size):
                raise InvalidInputError(
                    f"Uploaded content does not match LFS object {oid} (got sha256 {digest.hexdigest()},"
                    f" {written} bytes)."
                )
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
