"""The mypyc build of the proxy's hot modules: used only when it matches the sources.

These run a fresh interpreter, since which files a module comes from is decided when it is first
imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.proxy import compiled

_WHERE = (
    "import orchestrator.proxy.frontdoor.client as c, orchestrator.proxy.compiled as k;"
    "print(c.__file__, k.in_use())"
)


def _client_module(fastpath_dir: Path) -> tuple[str, str]:
    env = {**os.environ, "SPACES_FASTPATH_DIR": str(fastpath_dir)}
    result = subprocess.run(
        [sys.executable, "-c", _WHERE], env=env, capture_output=True, text=True, check=True
    )
    path, in_use = result.stdout.split()
    return path, in_use


def test_without_a_build_the_sources_run(tmp_path: Path) -> None:
    path, in_use = _client_module(tmp_path / "none")
    assert path.endswith("orchestrator/proxy/frontdoor/client.py")
    assert in_use == "False"


def test_a_build_of_other_sources_is_not_used(tmp_path: Path) -> None:
    """An edited module must never be shadowed by a stale compiled one."""
    if not compiled.current():
        pytest.skip("no current build in build/fastpath to copy (make fastpath)")
    stale = tmp_path / "fastpath"
    subprocess.run(["cp", "-r", str(compiled.build_dir()), str(stale)], check=True)
    manifest = json.loads((stale / compiled.MANIFEST).read_text())
    manifest["orchestrator/proxy/frontdoor/client.py"] = "0" * 64
    (stale / compiled.MANIFEST).write_text(json.dumps(manifest))
    path, in_use = _client_module(stale)
    assert path.endswith("client.py")
    assert in_use == "False"


def test_the_current_build_is_used() -> None:
    """``scripts/install.sh`` builds it, so CI runs the proxy tests against the compiled modules."""
    if not compiled.current():
        if os.environ.get("CI"):
            pytest.fail("install.sh should have built the compiled proxy modules (build/fastpath)")
        pytest.skip("no current build (make fastpath)")
    path, in_use = _client_module(compiled.build_dir())
    assert path.endswith(".so")
    assert in_use == "True"
