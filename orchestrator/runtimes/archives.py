"""Tar archives that the container runtime copies into containers with ``put_archive``.

Pure construction: each function returns the bytes of an uncompressed tar; nothing here talks to an
engine. Files are owned by the Space's user (uid and gid 1000) so the app can write beside them.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

SPACE_UID = 1000
_SKIPPED = {".git", "__pycache__"}


def _owned(info: tarfile.TarInfo, uid: int) -> tarfile.TarInfo:
    info.uid = info.gid = uid
    info.uname = info.gname = ""
    return info


def folder_archive(folder: Path, *, uid: int = SPACE_UID) -> bytes:
    """The contents of ``folder`` (not the folder itself), without ``.git`` and ``__pycache__``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if _SKIPPED.intersection(relative.parts):
                continue
            tar.add(path, arcname=str(relative), recursive=False, filter=lambda info: _owned(info, uid))
    return buffer.getvalue()


def files_archive(files: dict[str, bytes], *, uid: int = SPACE_UID, mode: int = 0o644) -> bytes:
    """An archive of in-memory files; names may contain folders, which are created (mode 0755)."""
    buffer = io.BytesIO()
    folders: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            parts = Path(name).parts
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    folders.add(folder)
                    entry = tarfile.TarInfo(folder)
                    entry.type, entry.mode, entry.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
                    tar.addfile(_owned(entry, uid))
            info = _owned(tarfile.TarInfo(name), uid)
            info.size, info.mode, info.mtime = len(content), mode, int(time.time())
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
