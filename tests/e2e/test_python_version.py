"""``python_version: "3.13"``: a Gradio Space that reports the interpreter it runs under.

On the container runtime the Space is built on ``localhost/spaces/python:3.13`` (Debian trixie's
Python, which ``scripts/install.sh`` builds) and must answer with a 3.13 ``sys.version``. The process
runtime has only the host's Python 3.11: it falls back, and the build log says which version was asked
for and which is used.
"""

from __future__ import annotations

from pathlib import Path

from gradio_client import Client

from orchestrator.testing import ControlPlane, SpaceRepo

README = """\
---
title: Which Python
sdk: gradio
sdk_version: 6.31.0
python_version: "3.13"
---
"""

APP = """\
import sys

import gradio as gr


def python_version(_: str) -> str:
    return sys.version


demo = gr.Interface(fn=python_version, inputs="text", outputs="text", api_name="python_version")

if __name__ == "__main__":
    demo.launch()
"""

FALLBACK_NOTE = "python_version 3.13 requested; this server has 3.11, using it"


def test_python_version_picks_the_interpreter(plane: ControlPlane, tmp_path: Path) -> None:
    token = plane.add_user("pia")
    plane.cli("create", "pia/which-python", "--sdk", "gradio", token=token)
    repo = SpaceRepo.empty(tmp_path / "which-python", plane.git_url("pia/which-python", token))
    repo.write("README.md", README)
    repo.write("app.py", APP)
    repo.commit_and_push("python 3.13")
    runtime = plane.wait_settled("pia/which-python", token, repo.head, timeout=900)
    assert runtime["stage"] == "RUNNING", f"{runtime}\n{plane.logs('pia/which-python', token)}"
    build_log = plane.cli("logs", "pia/which-python", "--build", "--no-follow", token=token).stdout

    client = Client(plane.app_url("pia", "which-python"), verbose=False)
    version: str = client.predict("?", api_name="/python_version")
    if plane.runtime == "container":
        assert "Python 3.13" in build_log.splitlines(), build_log
        assert "python_version 3.13 requested" not in build_log, build_log
        assert version.startswith("3.13."), version
    else:
        assert FALLBACK_NOTE in build_log, build_log
        assert version.startswith("3.11."), version
