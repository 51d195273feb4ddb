"""The proxy's hot modules compiled to C with mypyc, used when a build matches the sources.

The front door's per-request work (parsing callbacks, header rules, head bytes, route counting,
metrics) is plain typed Python; mypyc compiles the same files to C extension modules, which run it in
about two thirds of the instructions; ``C_MODULES`` are written in C (the front door's head scanner),
built alongside and held to the same manifest. ``main`` (run by ``scripts/install.sh`` and
``make fastpath``) builds them into ``build/fastpath`` next to the package (or
``$SPACES_FASTPATH_DIR``) with a manifest of the sources' hashes. ``use`` (called by the proxy packages
before they import anything) puts that build in front of the sources only when every hash still
matches, so an edited file is never shadowed by a stale build: it simply runs interpreted until the
next build. Nothing here changes behaviour; without a build, everything runs as Python (and every
head is parsed by httptools: the quick path needs the C scanner).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import MutableSequence
from pathlib import Path

MODULES = (
    "orchestrator/proxy/headers.py",
    "orchestrator/proxy/routes.py",
    "orchestrator/proxy/metrics.py",
    "orchestrator/proxy/gate.py",
    "orchestrator/proxy/frontdoor/heads.py",
    "orchestrator/proxy/frontdoor/upstream.py",
    "orchestrator/proxy/frontdoor/client.py",
    "orchestrator/proxy/frontdoor/door.py",
)
"""The compiled modules, relative to the folder that holds the ``orchestrator`` package."""

C_MODULES = ("orchestrator/proxy/frontdoor/_headscan.c",)
"""Extension modules written in C (each with a ``.pyi`` beside it), compiled with the interpreter's
own compiler settings; the code that imports them runs without them."""

MANIFEST = "manifest.json"

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def build_dir() -> Path:
    return Path(os.environ.get("SPACES_FASTPATH_DIR") or _SOURCE_ROOT / "build" / "fastpath")


def _manifest() -> dict[str, str]:
    """What a build must have been made from: the interpreter and each module's hash."""
    sources = {
        module: hashlib.sha256((_SOURCE_ROOT / module).read_bytes()).hexdigest()
        for module in (*MODULES, *C_MODULES)
    }
    return {"python": sys.implementation.cache_tag, **sources}


def current() -> bool:
    """Whether ``build_dir`` holds a build of exactly the present sources for this interpreter."""
    try:
        found = json.loads((build_dir() / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return bool(found == _manifest())


_active: bool | None = None


def use(package_path: MutableSequence[str], package: str) -> bool:
    """Put the compiled modules of ``package`` (``orchestrator/proxy`` or a subfolder) in front of its
    sources, if the build is current; returns whether the compiled modules are in use."""
    global _active
    if _active is None:
        _active = current()
        if _active:
            sys.path.insert(0, str(build_dir()))  # the shared library mypyc makes for the group
    if _active:
        package_path.insert(0, str(build_dir() / package))
    return _active


def in_use() -> bool:
    """Whether this process runs the compiled modules."""
    return bool(_active)


_EXTENSION_SUFFIX = str(sysconfig.get_config_var("EXT_SUFFIX"))


def _compile_c(source: Path, output: Path) -> None:
    """One C extension module, with the compiler and flags this interpreter was built with."""
    compiler = shlex.split(str(sysconfig.get_config_var("CC") or "cc"))
    flags = shlex.split(str(sysconfig.get_config_var("CFLAGSFORSHARED") or ""))
    include = sysconfig.get_paths()["include"]
    output.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *compiler,
            *flags,
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            "-I",
            include,
            str(source),
            "-o",
            str(output),
        ],
        check=True,
    )


def build(target: Path) -> None:
    """Compile ``MODULES`` with mypyc into ``target`` (replacing what was there) and write the manifest."""
    manifest = _manifest()
    with tempfile.TemporaryDirectory(prefix="spaces-fastpath-") as scratch:
        work = Path(scratch)
        # The whole package, for mypyc's type check; no pyproject.toml, which would make setuptools
        # look for packages to ship.
        shutil.copytree(
            _SOURCE_ROOT / "orchestrator", work / "orchestrator", ignore=shutil.ignore_patterns("__pycache__")
        )
        subprocess.run(
            [sys.executable, "-m", "mypyc", *MODULES], cwd=work, check=True, stdout=subprocess.DEVNULL
        )
        if target.exists():
            shutil.rmtree(target)
        for built in work.rglob("*.so"):
            relative = built.relative_to(work)
            if relative.parts[0] == "build":
                continue
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(built, target / relative)
        for module in C_MODULES:
            _compile_c(_SOURCE_ROOT / module, target / Path(module).with_suffix(_EXTENSION_SUFFIX))
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def main() -> None:
    target = build_dir()
    if current() and "--force" not in sys.argv:
        print(f"compiled proxy modules in {target} are up to date")
        return
    print(
        f"compiling {len(MODULES)} proxy modules with mypyc and {len(C_MODULES)} in C into {target}"
        " (about a minute)",
        flush=True,
    )
    build(target)
    print("done: the proxy uses them from its next start")
