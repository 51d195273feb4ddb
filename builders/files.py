"""Read-only views of the files of one commit of a Space repo.

Owns the ``RepoFiles`` interface the builders read through, a directory-backed implementation for a
checked-out tree and an in-memory one for files taken from git objects (and for tests). Paths are
relative, ``/``-separated, and never escape the root.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable

IGNORED_DIRS = frozenset({".git"})


@runtime_checkable
class RepoFiles(Protocol):
    """The files of one commit, as the builders see them."""

    def read_text(self, path: str) -> str | None:
        """The file's text (UTF-8, undecodable bytes replaced), or None if it is not a file here."""
        ...

    def exists(self, path: str) -> bool:
        """Whether ``path`` is a regular file in the repo."""
        ...

    def paths(self) -> list[str]:
        """Every file's relative path, sorted, without ``.git/``."""
        ...


def normalize_path(path: str) -> str | None:
    """``path`` as a clean relative posix path, or None if it is absolute or climbs out with ``..``."""
    if not path or "\\" in path or "\x00" in path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        return None
    parts = [part for part in pure.parts if part != "."]
    return "/".join(parts) if parts else None


class DirectoryFiles:
    """A checked-out tree on disk; symlinks that lead outside ``root`` read as missing."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _resolve(self, path: str) -> Path | None:
        clean = normalize_path(path)
        if clean is None:
            return None
        full = (self.root / clean).resolve()
        if not full.is_relative_to(self.root) or not full.is_file():
            return None
        return full

    def read_text(self, path: str) -> str | None:
        full = self._resolve(path)
        if full is None:
            return None
        return full.read_bytes().decode("utf-8", errors="replace")

    def exists(self, path: str) -> bool:
        return self._resolve(path) is not None

    def paths(self) -> list[str]:
        found: list[str] = []
        for full in self.root.rglob("*"):
            relative = full.relative_to(self.root)
            if relative.parts[0] in IGNORED_DIRS or not full.is_file():
                continue
            found.append(relative.as_posix())
        return sorted(found)


class MemoryFiles:
    """Files held in memory: path → text or bytes."""

    def __init__(self, files: Mapping[str, str | bytes]) -> None:
        self._files: dict[str, str] = {}
        for path, content in files.items():
            clean = normalize_path(path)
            if clean is None:
                raise ValueError(f"not a relative path inside the repo: {path!r}")
            text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
            self._files[clean] = text

    def read_text(self, path: str) -> str | None:
        clean = normalize_path(path)
        return None if clean is None else self._files.get(clean)

    def exists(self, path: str) -> bool:
        return self.read_text(path) is not None

    def paths(self) -> list[str]:
        return sorted(p for p in self._files if p.split("/", 1)[0] not in IGNORED_DIRS)
