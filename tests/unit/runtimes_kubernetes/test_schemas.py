"""Every object the runtime makes is valid for every Kubernetes version from 1.20 to the newest schemas
(strict: an unknown field is an error), and the check itself catches a bad object."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from orchestrator.runtimes.kubernetes.leases import make_lease, renewed
from orchestrator.runtimes.kubernetes.manifests import (
    make_deployment,
    make_persistent_volume_claim,
    make_secret,
    make_service,
)
from orchestrator.runtimes.kubernetes.policies import make_network_policy
from tests import kubeschemas
from tests.unit.runtimes_kubernetes.helpers import POLICY, every_kind_of_workload


def _objects() -> list[Any]:
    objects: list[Any] = []
    for workload in every_kind_of_workload():
        values = {key: "value" for key in workload.secret_keys}
        objects += [
            make_deployment(workload, POLICY),
            make_service(workload, POLICY),
            make_secret(workload, POLICY, values),
            make_network_policy(workload, POLICY),
        ]
        if workload.storage is not None:
            objects.append(make_persistent_volume_claim(workload, POLICY))
    lease = make_lease(
        name="spaces-controller", namespace="spaces-system", holder="a", duration_s=8, now=datetime.now(UTC)
    )
    objects += [
        lease,
        renewed(
            {**lease, "metadata": {**lease["metadata"], "resourceVersion": "9"}},
            holder="b",
            duration_s=8,
            now=datetime.now(UTC),
        ),
    ]
    return objects


@pytest.fixture(scope="module")
def objects() -> list[Any]:
    reason = kubeschemas.missing_old_schemas()
    if reason is not None:
        pytest.fail(reason, pytrace=False)
    return _objects()


@pytest.mark.parametrize("version", kubeschemas.versions())
def test_every_object_is_valid(version: str, objects: list[Any]) -> None:
    assert [p for obj in objects for p in kubeschemas.problems(obj, version)] == []


@pytest.mark.parametrize("version", ["1.20", "1.37"])
def test_the_check_finds_a_wrong_field_and_an_unserved_api(version: str, objects: list[Any]) -> None:
    deployment = dict(objects[0])
    deployment["spec"] = {**deployment["spec"], "replicas": "one"}
    assert any("spec.replicas" in p for p in kubeschemas.problems(deployment, version))
    cron = {
        "apiVersion": "batch/v1" if version == "1.20" else "batch/v1beta1",
        "kind": "CronJob",
        "metadata": {"name": "x"},
    }
    assert kubeschemas.problems(cron, version) == [
        f"CronJob/x ({cron['apiVersion']}): Kubernetes {version} does not serve this kind and apiVersion"
    ]
