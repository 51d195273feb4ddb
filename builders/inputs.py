"""The repo files that feed a Python SDK build besides README.md, read and checked.

Owns reading ``requirements.txt``, ``pre-requirements.txt`` and ``packages.txt``, checking that the
app file exists, and choosing a Python this server has. Errors point at the file and line to fix.
"""

from __future__ import annotations

import re

from builders.config import SpaceConfig
from builders.errors import ConfigError, NoAppFileError
from builders.files import RepoFiles

REQUIREMENTS = "requirements.txt"
PRE_REQUIREMENTS = "pre-requirements.txt"
PACKAGES = "packages.txt"

# A Debian package name, optionally with :arch and =version; nothing a shell would interpret.
_APT_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.\-]*(?::[a-z0-9\-]+)?(?:=[A-Za-z0-9.+~:\-]+)?")
_SHOWN_PY_FILES = 20


def read_requirements(files: RepoFiles, path: str) -> str | None:
    """The file's text with line endings normalised, or None if absent or only comments."""
    text = files.read_text(path)
    if text is None:
        return None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    meaningful = [line for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#")]
    if not meaningful:
        return None
    return text if text.endswith("\n") else text + "\n"


def read_apt_packages(files: RepoFiles) -> tuple[str, ...]:
    """Debian packages from packages.txt, in order, without comments, blanks or repeats."""
    text = files.read_text(PACKAGES)
    if text is None:
        return ()
    packages: list[str] = []
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        for name in line.split("#", 1)[0].split():
            if not _APT_PACKAGE.fullmatch(name):
                raise ConfigError(f"{name!r} is not a Debian package name", file=PACKAGES, line=number)
            if name not in packages:
                packages.append(name)
    return tuple(packages)


def find_pinned_sdk(requirements: str | None, sdk: str) -> list[tuple[int, str]]:
    """Lines of ``requirements`` that name the SDK package itself, as ``(line, text)``."""
    if requirements is None:
        return []
    pattern = re.compile(rf"{re.escape(sdk)}\s*(?:\[[^\]]*\])?\s*(?:[<>=!~;@]|$)", re.IGNORECASE)
    return [
        (number, line.strip())
        for number, line in enumerate(requirements.split("\n"), start=1)
        if pattern.match(line.strip())
    ]


def require_app_file(config: SpaceConfig, files: RepoFiles) -> None:
    """Raise ``NoAppFileError`` naming the file looked for and the Python files that are there."""
    if files.exists(config.app_file):
        return
    line = config.line_of("app_file")
    why = "app_file" if line is not None else "app_file is not set, so the default"
    python_files = [path for path in files.paths() if path.endswith(".py")]
    if not python_files:
        present = "the repo has no .py files"
    else:
        shown = ", ".join(python_files[:_SHOWN_PY_FILES])
        more = len(python_files) - _SHOWN_PY_FILES
        present = f"Python files in the repo: {shown}" + (f" and {more} more" if more > 0 else "")
    raise NoAppFileError(
        f"{why} {config.app_file!r} was not found; {present}. "
        "Add the file or set app_file in README.md to the script that starts the app",
        line=line,
    )


def choose_python(config: SpaceConfig, available: tuple[str, ...]) -> tuple[str, str | None]:
    """The Python to build with and, when it is not what the README asked for, a note saying so.

    A version this server lacks falls back to the nearest one it has; between two equally near, the
    older, because a Space's pinned requirements more often lack wheels for a newer Python than its
    code needs the newer one's features.
    """
    if not available:
        raise ValueError("BuildOptions.available_pythons is empty")
    requested = config.python_version
    minor = ".".join(requested.split(".")[:2])
    if requested in available:
        return requested, None
    if minor in available:
        return minor, f"python_version {requested} requested; using Python {minor}"
    wanted = _minor_number(minor)
    chosen = min(
        available, key=lambda version: (abs(_minor_number(version) - wanted), _minor_number(version))
    )
    asked = (
        f"python_version {requested} requested"
        if config.line_of("python_version") is not None
        else f"python_version not set (the Hub's default is {requested})"
    )
    if len(available) == 1:
        return chosen, f"{asked}; this server has {chosen}, using it"
    return chosen, f"{asked}; this server has {', '.join(available)}; using {chosen}"


def _minor_number(version: str) -> int:
    """``3.13`` -> 13: every version here is a CPython 3 ``3.N`` (the front matter allows no other)."""
    return int(version.split(".")[1])


def read_preload_from_hub(config: SpaceConfig) -> tuple[str, ...]:
    """``preload_from_hub`` entries (``repo_id [files] [revision]``), checked for their shape."""
    entries = config.extra.get("preload_from_hub")
    if not isinstance(entries, list):
        return ()
    line = config.line_of("preload_from_hub")
    for entry in entries:
        parts = str(entry).split()
        if not parts or len(parts) > 3 or parts[0].count("/") > 1:
            raise ConfigError(
                "preload_from_hub items must be 'repo_id', 'repo_id file1,file2' or "
                f"'repo_id files revision'; got {entry!r}",
                line=line,
            )
    return tuple(str(entry) for entry in entries)
