"""The whole flow of a Space with the unchanged ``huggingface_hub`` and ``gradio_client`` packages.

    export HF_ENDPOINT=http://localhost:8000 HF_TOKEN=$(spaces users add alice)
    python examples/scripts/hub_client_flow.py alice/hello

Creates the Space, uploads ``examples/gradio-hello``, waits for RUNNING, queries it, sets a secret
(which restarts it), pauses it and restarts it. Large files (10 MiB and more) go through Git LFS: with
``hf_xet`` installed, also set ``HF_HUB_DISABLE_XET=1`` (this server does not speak Xet).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from gradio_client import Client
from huggingface_hub import HfApi

WAITING = {"BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING"}


def wait_running(api: HfApi, space: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while (stage := api.get_space_runtime(space).stage) != "RUNNING":
        if stage not in WAITING or time.monotonic() > deadline:
            raise SystemExit(f"{space} is {stage}:\n" + "".join(api.fetch_space_logs(space, build=True)))
        time.sleep(1)


def main(space: str) -> None:
    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT", "http://localhost:8000"))
    api.create_repo(space, repo_type="space", space_sdk="gradio", exist_ok=True)
    example = Path(__file__).resolve().parents[1] / "gradio-hello"
    commit = api.upload_folder(folder_path=example, repo_id=space, repo_type="space")
    print("uploaded", commit.oid)
    wait_running(api, space)
    host = api.space_info(space).host
    print("running at", host)
    print(Client(f"{host}/", token=api.token, verbose=False).predict("World", api_name="/greet"))

    api.add_space_secret(space, "API_KEY", "not-a-real-key", description="seen as $API_KEY by the app")
    print("secrets:", list(api.get_space_secrets(space)))
    print("paused:", api.pause_space(space).stage)
    api.restart_space(space)
    while api.get_space_runtime(space).stage == "PAUSED":  # until the control plane picks it up
        time.sleep(0.5)
    wait_running(api, space)
    print("restarted:", api.get_space_runtime(space).stage)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "alice/hello")
