"""The flavors catalog: the Hub's names and figures by default, and a loader that names file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.hardware import KNOWN
from orchestrator.scheduling import quantities as q
from orchestrator.scheduling.errors import ConfigFileError
from orchestrator.scheduling.flavors import (
    DEFAULT_CATALOG,
    GpuKind,
    default_catalog,
    load_catalog,
    parse_catalog,
)

GIB = 2**30


def test_default_catalog_has_every_name_the_hub_client_knows_with_the_hubs_figures() -> None:
    catalog = default_catalog()
    assert set(KNOWN) <= set(catalog)
    basic = catalog["cpu-basic"]
    assert (basic.cpu, basic.memory, basic.gpu) == (2000, 16 * GIB, None)
    assert (catalog["cpu-upgrade"].cpu, catalog["cpu-upgrade"].memory) == (8000, 32 * GIB)
    small = catalog["a10g-small"]
    assert small.gpu is not None
    assert (small.cpu, small.memory, small.gpu.count, small.gpu.memory) == (4000, 15 * GIB, 1, 24 * GIB)
    assert small.gpu.products == ("A10G",)
    assert small.requests == (("cpu", 4000), ("memory", 15 * GIB), ("nvidia.com/gpu", 1))
    assert catalog["l40sx8"].gpu is not None and catalog["l40sx8"].gpu.count == 8
    assert catalog["a100-large"].gpu is not None and catalog["a100-large"].gpu.memory == 80 * GIB
    assert (catalog["h100"].cpu, catalog["h100"].memory) == (24000, 250 * GIB)


def test_zero_gpu_flavor_holds_no_gpu_between_calls() -> None:
    zero = default_catalog()["zero-a10g"]
    assert zero.zero_gpu and zero.gpu is not None
    assert not zero.holds_gpu
    assert [r for r, _ in zero.requests] == ["cpu", "memory"]


def test_mig_and_time_sliced_flavors_parse_to_their_kinds() -> None:
    catalog = parse_catalog(
        """
flavors:
  mig: {cpu: 2, memory: 8Gi, resources: {nvidia.com/mig-3g.40gb: 1}}
  share: {cpu: 500m, memory: 4Gi, resources: {nvidia.com/gpu.shared: 1}, gpu: {product: [T4, L4]}}
"""
    )
    mig, share = catalog["mig"].gpu, catalog["share"].gpu
    assert mig is not None and (mig.kind, mig.profile, mig.resource) == (
        GpuKind.MIG,
        "3g.40gb",
        "nvidia.com/mig-3g.40gb",
    )
    assert share is not None and (share.kind, share.products) == (GpuKind.SHARED, ("T4", "L4"))
    assert catalog["share"].cpu == 500


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("  a: {cpu: 2, memory: 16GB}\n", 3, "write 16Gi"),
        ("  a: {cpu: 2, memory: 1Gi, colour: red}\n", 3, "unknown key 'colour'"),
        ("  a: {cpu: 2}\n", 3, "lacks memory"),
        (
            "  a:\n    cpu: 2\n    memory: 1Gi\n"
            "    resources: {nvidia.com/gpu: 1, nvidia.com/mig-1g.10gb: 1}\n",
            6,
            "one GPU resource",
        ),
        (
            "  a:\n    cpu: 2\n    memory: 1Gi\n    resources: {nvidia.com/mig-1g.10gb: 2}\n",
            6,
            "one MIG instance",
        ),
        ("  a:\n    cpu: 2\n    memory: 1Gi\n    resources: {nvidia.com/gpu.shared: 3}\n", 6, "one replica"),
        ("  a:\n    cpu: 2\n    memory: 1Gi\n    resources: {amd.com/gpu: 1}\n", 6, "unknown resource"),
        ("  a: {cpu: 2, memory: 1Gi}\n  a: {cpu: 4, memory: 1Gi}\n", 4, "appears twice"),
        ("  Big: {cpu: 2, memory: 1Gi}\n", 3, "lower-case"),
        ("  a: {cpu: 2, memory: 1Gi, zero_gpu: true}\n", 3, "ZeroGPU"),
        ("  a: [cpu\n", 4, "not valid YAML"),
    ],
)
def test_a_mistake_is_reported_with_file_and_line(tmp_path: Path, body: str, line: int, words: str) -> None:
    path = tmp_path / "flavors.yaml"
    path.write_text("# my flavors\nflavors:\n" + body)
    with pytest.raises(ConfigFileError) as caught:
        load_catalog(path)
    assert caught.value.line == line, caught.value.message
    assert caught.value.message.startswith(f"{path}:{line}: ")
    assert words in caught.value.message


def test_a_missing_file_is_named() -> None:
    with pytest.raises(ConfigFileError, match=r"nowhere\.yaml: cannot read"):
        load_catalog("/nowhere.yaml")


def test_the_default_file_is_a_valid_starting_point_for_an_admin(tmp_path: Path) -> None:
    copy = tmp_path / "flavors.yaml"
    copy.write_text(
        DEFAULT_CATALOG.read_text().replace(
            "cpu-upgrade: {name: CPU Upgrade, cpu: 8", "cpu-upgrade: {name: CPU Upgrade, cpu: 6"
        )
    )
    assert load_catalog(copy)["cpu-upgrade"].cpu == 6000


@pytest.mark.parametrize(
    ("text", "resource", "amount"),
    [
        ("4", q.CPU, 4000),
        ("500m", q.CPU, 500),
        ("1.5", q.CPU, 1500),
        ("15Gi", q.MEMORY, 15 * GIB),
        ("1G", q.MEMORY, 10**9),
        ("2", q.WHOLE_GPU, 2),
    ],
)
def test_quantities_use_kubernetes_units(text: str, resource: str, amount: int) -> None:
    assert q.parse_amount(resource, text, "x") == amount


def test_fractions_of_devices_and_of_millicores_are_refused() -> None:
    with pytest.raises(q.QuantityError, match="whole number of devices"):
        q.parse_count("1.5", "gpu")
    with pytest.raises(q.QuantityError, match="finer than a millicore"):
        q.parse_cpu("0.0001")
