"""``python -m orchestrator.zerogpu``: one Space's app run with its device API, and the usage totals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from orchestrator.zerogpu.ledger import read_ledger
from orchestrator.zerogpu.service import ledger_path

APP = """
import json, os, httpx
from spaces.zero.api import APIClient
client = APIClient(httpx.Client(base_url=os.environ["SPACES_ZERO_DEVICE_API_URL"], timeout=30))
assert client.startup_report() == 200
grant, meta = client.schedule(cgroup_path="/", task_id=1, duration_seconds=5)
assert client.allow(grant.allowToken, os.getpid()) == 200
assert client.release(grant.allowToken) == 200
keys = ("SYSTEM", "SPACE_ID", "SPACES_ZERO_GPU", "ZEROGPU_CUDA_DEVICE_NAME", "CUDA_VISIBLE_DEVICES")
print(json.dumps({"uuid": grant.nvidiaUUID, **{k: os.environ.get(k) for k in keys}}))
"""


def zerogpu(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orchestrator.zerogpu", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_run_serves_one_space_s_app_and_usage_totals_its_calls(tmp_path: Path) -> None:
    pool = tmp_path / "pool.yaml"
    pool.write_text("devices:\n  - {index: 3, uuid: MIG-cli, size: large, name: NVIDIA H200 MIG 3g.71gb}\n")
    data = tmp_path / "data"
    done = zerogpu("run", "--pool", pool, "--space", "ann/zero", "--team", "lab", "--data-dir", data,
                   "--", sys.executable, "-c", APP)  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "uuid": "MIG-cli",
        "SYSTEM": "spaces",
        "SPACE_ID": "ann/zero",
        "SPACES_ZERO_GPU": "true",
        "ZEROGPU_CUDA_DEVICE_NAME": "NVIDIA H200 MIG 3g.71gb",
        "CUDA_VISIBLE_DEVICES": "",
    }
    (record,) = read_ledger(ledger_path(data))
    assert (record.space_id, record.team, record.visitor, record.outcome) == (
        "ann/zero",
        "lab",
        "space:ann/zero",
        "ok",
    )
    usage = zerogpu("usage", "--data-dir", data, "--by", "team")
    assert usage.returncode == 0
    assert usage.stdout.split()[:3] == ["lab", "1", "calls"]


def test_run_names_the_file_and_entry_at_fault(tmp_path: Path) -> None:
    pool = tmp_path / "pool.yaml"
    pool.write_text("devices:\n  - {index: 0, uuid: GPU-a, size: enormous}\n")
    done = zerogpu("run", "--pool", pool, "--space", "ann/zero", "--", "true")
    assert done.returncode == 2
    assert f"error: {pool}: devices.0.size" in done.stderr
