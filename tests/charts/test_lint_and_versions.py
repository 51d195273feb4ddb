"""``helm lint`` is clean, and every object the chart renders is valid for every Kubernetes version it
claims (Chart.yaml's kubeVersion, from 1.20 to the newest schemas), for every way of installing it."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests import kubeschemas
from tests.charts.conftest import Render
from tests.charts.helm import CHART, Helm
from tests.charts.values_sets import VALUE_SETS


def test_the_chart_claims_kubernetes_1_20_and_newer() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == ">=1.20.0-0"
    assert kubeschemas.versions()[0] == "1.20" and len(kubeschemas.versions()) >= 18


@pytest.mark.parametrize("values_set", VALUE_SETS)
@pytest.mark.parametrize("kube_version", ["1.20.2", "1.35.0"])
def test_lint_is_clean(helm: Helm, values_set: str, kube_version: str) -> None:
    result = helm.run(
        "lint", str(CHART), "--strict", "--kube-version", kube_version, values=VALUE_SETS[values_set]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout
    assert not re.search(r"\[(WARNING|ERROR)\]", result.stdout), result.stdout


@pytest.mark.parametrize("version", kubeschemas.versions())
def test_every_rendered_object_is_valid(render: Render, version: str) -> None:
    missing = kubeschemas.missing_old_schemas()
    if missing is not None:
        pytest.fail(missing, pytrace=False)
    with ThreadPoolExecutor(max_workers=len(VALUE_SETS)) as pool:  # helm runs in parallel
        rendered = dict(
            zip(VALUE_SETS, pool.map(lambda name: render(name, f"{version}.0"), VALUE_SETS), strict=True)
        )
    problems = [
        f"[{values_set}] {problem}"
        for values_set, objects in rendered.items()
        for obj in objects
        for problem in kubeschemas.problems(obj, version)
    ]
    assert problems == []


def test_the_kube_version_floor_is_enforced(helm: Helm) -> None:
    result = helm.run("template", "x", str(CHART), "--kube-version", "1.19.16")
    assert result.returncode != 0
    assert "kubeVersion" in result.stderr or "incompatible" in result.stderr
