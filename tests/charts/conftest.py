"""Fixtures of the chart tests: the real helm binary and a memo of renders (values set, version)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from tests.charts.helm import Helm, find_helm
from tests.charts.values_sets import VALUE_SETS

Render = Callable[[str, str], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    try:
        binary = find_helm()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return Helm(binary, tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="session")
def render(helm: Helm) -> Render:
    """``render(values_set, kube_version)``: the objects of one rendering, each rendered once."""

    @functools.cache
    def rendered(values_set: str, kube_version: str) -> list[dict[str, Any]]:
        return helm.template(VALUE_SETS[values_set], kube_version=kube_version)

    return rendered
