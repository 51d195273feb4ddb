"""Inventories from files, Kubernetes node objects and NVML, the devices they hand out, and which flavors
they can serve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrator.scheduling.errors import ConfigFileError
from orchestrator.scheduling.flavors import GpuKind, default_catalog
from orchestrator.scheduling.inventory import Sharing, Tenancy, devices, main
from orchestrator.scheduling.matching import availability, catalog_availability, product_matches
from orchestrator.scheduling.readers.inventory_file import load_inventory, parse_inventory
from orchestrator.scheduling.readers.kubernetes import parse_nodes
from orchestrator.scheduling.readers.nvml import read_nvml

GIB = 2**30
REPO = Path(__file__).resolve().parents[3]

DECLARED = """
nodes:
  - name: box
    taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]
    gpus:
      - {uuid: GPU-1, product: NVIDIA A10G, memory: 23028Mi}
      - {uuid: GPU-2, product: Tesla T4, memory: 15360Mi, sharing: time-slicing, replicas: 4}
      - uuid: GPU-3
        product: NVIDIA A100-SXM4-80GB
        memory: 80Gi
        mig:
          - {uuid: MIG-a, profile: 1g.10gb, memory: 9728Mi}
          - {uuid: MIG-b, profile: 3g.40gb}
"""


def test_a_declared_inventory_hands_out_cards_mig_instances_and_replicas() -> None:
    found = devices(parse_inventory(DECLARED))
    kinds = [(d.id, d.kind, d.resource, d.visible_id) for d in found]
    assert kinds == [
        ("GPU-1", GpuKind.WHOLE, "nvidia.com/gpu", "GPU-1"),
        *[(f"GPU-2::{r}", GpuKind.SHARED, "nvidia.com/gpu.shared", "GPU-2") for r in range(4)],
        ("MIG-a", GpuKind.MIG, "nvidia.com/mig-1g.10gb", "MIG-a"),
        ("MIG-b", GpuKind.MIG, "nvidia.com/mig-3g.40gb", "MIG-b"),
    ]
    # The card in MIG mode is handed out only through its instances; a replica is a quarter of a card.
    assert {d.tenancy for d in found if d.kind is GpuKind.SHARED} == {"GPU-2"}
    assert found[1].gpu_fraction == 0.25
    assert found[-1].gpu_fraction == pytest.approx(3 / 7)
    assert found[-2].product == "NVIDIA A100-SXM4-80GB MIG 1g.10gb"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "nodes:\n  - name: a\n    gpus:\n      - {uuid: X, product: P}\n      - {uuid: X, product: P}\n",
            5,
            "listed twice",
        ),
        (
            "nodes:\n  - name: a\n    gpus:\n      - {product: P, sharing: time-slicing}\n",
            4,
            "replicas: 2 or more",
        ),
        (
            "nodes:\n  - name: a\n    gpus:\n      - {product: P, sharing: slicing, replicas: 2}\n",
            4,
            "time-slicing",
        ),
        ("nodes:\n  - name: a\n    gpus:\n      - {product: P, memory: 24GB}\n", 4, "write 24Gi"),
        (
            "nodes:\n  - name: a\n    gpus:\n      - product: P\n        mig: [{profile: big}]\n",
            5,
            "not a MIG profile",
        ),
        ("nodes:\n  - name: a\n  - name: a\n", 3, "listed twice"),
        ("nodes:\n  - {name: a, taints: [{key: k, effect: Never}]}\n", 2, "effect"),
    ],
)
def test_inventory_file_mistakes_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as caught:
        load_inventory(path)
    assert (caught.value.line, caught.value.path) == (line, str(path)), caught.value.message
    assert words in caught.value.message


def node(name: str, allocatable: dict[str, str], labels: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
        "status": {"allocatable": {"cpu": "64", "memory": "512Gi", **allocatable}},
    }


def test_kubernetes_nodes_whole_time_sliced_and_mig_mixed() -> None:
    node_list = {
        "kind": "NodeList",
        "items": [
            node(
                "whole",
                {"nvidia.com/gpu": "8"},
                {"nvidia.com/gpu.product": "NVIDIA-A10G", "nvidia.com/gpu.memory": "23028"},
                taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
            ),
            node(
                "sliced",
                {"nvidia.com/gpu.shared": "8"},
                {
                    "nvidia.com/gpu.product": "Tesla-T4-SHARED",
                    "nvidia.com/gpu.count": "2",
                    "nvidia.com/gpu.replicas": "4",
                    "nvidia.com/gpu.sharing-strategy": "time-slicing",
                },
            ),
            node(
                "mig",
                {"nvidia.com/mig-1g.10gb": "14", "nvidia.com/mig-3g.40gb": "4"},
                {"nvidia.com/mig.strategy": "mixed", "nvidia.com/mig-1g.10gb.memory": "9728"},
            ),
            node("cordoned", {"nvidia.com/gpu": "8"}, {}, unschedulable=True),
        ],
    }
    inventory = parse_nodes(node_list)
    assert [n.name for n in inventory.nodes] == ["whole", "sliced", "mig"]
    assert inventory.note is not None and "cordoned" in inventory.note
    whole, sliced, mig = inventory.nodes
    assert (
        len(whole.gpus) == 8
        and whole.gpus[0].memory == 23028 * 2**20
        and whole.taints[0].key == "nvidia.com/gpu"
    )
    assert (
        len(sliced.gpus) == 2
        and sliced.gpus[0].sharing is Sharing.TIME_SLICING
        and sliced.gpus[0].replicas == 4
    )
    assert sliced.gpus[0].product == "Tesla-T4" and sliced.shared_resource == "nvidia.com/gpu.shared"
    assert sliced.tenancy is Tenancy.NODE
    assert sorted({m.profile for m in mig.mig}) == ["1g.10gb", "3g.40gb"] and len(mig.mig) == 18
    found = devices(inventory)
    # The device plugin picks cards: no UUIDs, and one team per node's shared cards.
    assert all(d.visible_id is None for d in found)
    assert {d.tenancy for d in found if d.kind is GpuKind.SHARED} == {"sliced/shared"}


def test_time_slicing_without_renaming_advertises_replicas_as_nvidia_gpu() -> None:
    labels = {
        "nvidia.com/gpu.product": "NVIDIA-L4-SHARED",
        "nvidia.com/gpu.replicas": "2",
        "nvidia.com/gpu.sharing-strategy": "time-slicing",
    }
    inventory = parse_nodes([node("n", {"nvidia.com/gpu": "8"}, labels)])
    assert len(inventory.nodes[0].gpus) == 4
    assert {d.resource for d in devices(inventory)} == {"nvidia.com/gpu"}


class FakeNvml:
    """Stands in for ``pynvml`` because this machine has no NVIDIA GPU: the same calls, answering for
    one A10G and one A100 in MIG mode with two instances (and an empty slot)."""

    class NVMLError(Exception):
        pass

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.cards = [
            SimpleNamespace(name="NVIDIA A10G", uuid="GPU-aaa", total=23028 * 2**20, mig=None),
            SimpleNamespace(
                name="NVIDIA A100-SXM4-80GB",
                uuid="GPU-bbb",
                total=80 * GIB,
                mig=[
                    SimpleNamespace(
                        name="NVIDIA A100-SXM4-80GB MIG 1g.10gb", uuid="MIG-111", total=9728 * 2**20
                    ),
                    None,
                    SimpleNamespace(name="", uuid="MIG-222", total=40192 * 2**20, slices=3, mb=40192),
                ],
            ),
        ]

    def nvmlInit(self) -> None:
        self.calls.append("init")

    def nvmlShutdown(self) -> None:
        self.calls.append("shutdown")

    def nvmlDeviceGetCount(self) -> int:
        return len(self.cards)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        return self.cards[index]

    def nvmlDeviceGetName(self, handle: Any) -> bytes:
        return str(handle.name).encode()  # old bindings answer bytes

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        return str(handle.uuid)

    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> Any:
        return SimpleNamespace(total=handle.total)

    def nvmlDeviceGetMigMode(self, handle: Any) -> tuple[int, int]:
        if handle.mig is None:
            raise self.NVMLError("Not Supported")
        return (1, 1)

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: Any) -> int:
        return len(handle.mig)

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: Any, index: int) -> Any:
        if handle.mig[index] is None:
            raise self.NVMLError("Not Found")
        return handle.mig[index]

    def nvmlDeviceGetAttributes(self, handle: Any) -> Any:
        return SimpleNamespace(gpuInstanceSliceCount=handle.slices, memorySizeMB=handle.mb)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("nvmlDeviceSet") or name.startswith("nvmlGpuInstance") or "Create" in name:
            raise AssertionError(f"the NVML reader must not change GPU settings ({name})")
        raise AttributeError(name)


def test_nvml_reader_lists_cards_and_existing_mig_instances_read_only() -> None:
    fake = FakeNvml()
    inventory = read_nvml(fake, node_name="gpu-host")
    assert fake.calls == ["init", "shutdown"]
    (host,) = inventory.nodes
    assert host.name == "gpu-host" and inventory.note is None
    assert [(g.product, g.uuid, g.mig_enabled) for g in host.gpus] == [
        ("NVIDIA A10G", "GPU-aaa", False),
        ("NVIDIA A100-SXM4-80GB", "GPU-bbb", True),
    ]
    assert [(m.profile, m.uuid, m.parent) for m in host.mig] == [
        ("1g.10gb", "MIG-111", "GPU-bbb"),
        ("3g.40gb", "MIG-222", "GPU-bbb"),
    ]
    assert [d.visible_id for d in devices(inventory)] == ["GPU-aaa", "MIG-111", "MIG-222"]


def test_nvml_without_a_driver_is_an_empty_inventory_that_says_why() -> None:
    # The real nvidia-ml-py on this machine, which has no NVIDIA driver.
    inventory = read_nvml()
    assert inventory.nodes == () and inventory.source == "nvml"
    assert inventory.note is not None and "NVML did not start" in inventory.note


def test_the_nvml_command_prints_json_on_a_machine_without_gpu() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.scheduling.inventory", "--nvml"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        timeout=60,
    )
    printed = json.loads(done.stdout)
    assert printed["source"] == "nvml" and printed["devices"] == []
    assert "NVML did not start" in printed["summary"]


def test_the_inventory_command_reads_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(DECLARED)
    assert main(["--file", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["summary"].startswith("1x NVIDIA A10G, 4x Tesla T4 share")
    assert len(printed["devices"]) == 7


def test_product_words_match_whole_words_only() -> None:
    assert product_matches(("L4",), "NVIDIA L4")
    assert not product_matches(("L4",), "NVIDIA L40S")
    assert product_matches(("A10G",), "NVIDIA-A10G")
    assert product_matches(("A100",), "NVIDIA A100-SXM4-80GB")
    assert product_matches((), "anything")


def test_availability_names_what_is_missing() -> None:
    catalog = default_catalog()
    inventory = parse_inventory(DECLARED)
    table = catalog_availability(catalog, inventory)
    assert table["cpu-basic"].available
    # The node's taint is tolerated by the default GPU flavors.
    assert table["a10g-small"].available and table["zero-a10g"].available
    assert not table["a10g-largex2"].available
    assert (
        table["a10g-largex2"].reason == "needs 2x A10G with 24Gi on one node; the most on one node is 1 (box)"
    )
    assert not table["a100-large"].available and "no A100 with 80Gi" in table["a100-large"].reason
    assert not table["t4-small"].available  # T4 here is time-sliced: no whole card


def test_an_untolerated_taint_makes_a_flavor_unavailable_and_says_so() -> None:
    catalog = default_catalog()
    inventory = parse_inventory(DECLARED.replace("key: nvidia.com/gpu, value", "key: dedicated, value"))
    verdict = availability(catalog["a10g-small"], inventory)
    assert not verdict.available
    assert "node box has taint dedicated=present:NoSchedule the flavor does not tolerate" in verdict.reason
