"""A Space's Deployment, Service, Secret and claim: compared with literal manifests and checked for the
properties every one of them must have, with no cluster."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest

from orchestrator.errors import InvalidInputError
from orchestrator.runtimes.kubernetes.hardware import hardware_for
from orchestrator.runtimes.kubernetes.manifests import (
    make_deployment,
    make_persistent_volume_claim,
    make_secret,
    make_service,
    spec_hash,
)
from orchestrator.runtimes.kubernetes.names import SPEC_HASH_ANNOTATION, space_object_name
from orchestrator.runtimes.kubernetes.workload import SDK_FILESYSTEM, WRITABLE_ROOT, Storage, filesystem_for
from tests.unit.runtimes_kubernetes.helpers import (
    CPU_SPACE,
    IMAGE,
    POLICY,
    every_kind_of_workload,
    flavored,
    mig_flavor,
)

NAME = space_object_name("alice/demo")
SELECTOR = {"app.kubernetes.io/component": "space", "spaces.orchestrator/space": NAME}
LABELS = {
    "app.kubernetes.io/name": "spaces-orchestrator",
    "app.kubernetes.io/managed-by": "spaces-orchestrator",
    **SELECTOR,
}
METADATA = {
    "name": NAME,
    "namespace": "spaces",
    "labels": LABELS,
    "annotations": {"spaces.orchestrator/space-id": "alice/demo"},
}
RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 1000,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
CPU_BASIC = {"cpu": "2", "memory": "16Gi"}


def _without_hash(obj: Any) -> Any:
    annotations = obj["metadata"]["annotations"]
    assert len(annotations.pop(SPEC_HASH_ANNOTATION)) == 32
    return obj


def test_a_cpu_space_deployment() -> None:
    assert _without_hash(make_deployment(CPU_SPACE, POLICY)) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": METADATA,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": SELECTOR},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "revisionHistoryLimit": 1,
            "progressDeadlineSeconds": 1800,
            "template": {
                "metadata": {
                    "labels": {**LABELS, "spaces.orchestrator/revision": "3f2c1a9"},
                    "annotations": {"spaces.orchestrator/space-id": "alice/demo"},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "shareProcessNamespace": True,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "runAsGroup": 1000,
                        "fsGroup": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "terminationGracePeriodSeconds": 30,
                    "initContainers": [
                        {
                            "name": "seed-0",
                            "image": IMAGE,
                            "command": [
                                "cp",
                                "-R",
                                "--no-dereference",
                                "--preserve=mode,timestamps,links",
                                "/home/user/app/.",
                                "/seed/",
                            ],
                            "volumeMounts": [{"name": "seeded-0", "mountPath": "/seed"}],
                            "imagePullPolicy": "IfNotPresent",
                            "resources": {"requests": CPU_BASIC, "limits": CPU_BASIC},
                            "securityContext": RESTRICTED,
                        }
                    ],
                    "containers": [
                        {
                            "name": "app",
                            "image": IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "env": [
                                {"name": "PORT", "value": "7860"},
                                {"name": "SYSTEM", "value": "spaces"},
                                {
                                    "name": "HF_TOKEN",
                                    "valueFrom": {"secretKeyRef": {"name": NAME, "key": "HF_TOKEN"}},
                                },
                                {
                                    "name": "GREETING",
                                    "valueFrom": {"secretKeyRef": {"name": NAME, "key": "GREETING"}},
                                },
                                {"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"},
                            ],
                            "ports": [{"name": "http", "containerPort": 7860, "protocol": "TCP"}],
                            "readinessProbe": {
                                "tcpSocket": {"port": "http"},
                                "periodSeconds": 1,
                                "timeoutSeconds": 1,
                                "successThreshold": 1,
                                "failureThreshold": 3,
                            },
                            "resources": {"requests": CPU_BASIC, "limits": CPU_BASIC},
                            "securityContext": RESTRICTED,
                            "volumeMounts": [
                                {"name": "writable-0", "mountPath": "/tmp"},
                                {"name": "writable-1", "mountPath": "/home/user/.cache"},
                                {"name": "writable-2", "mountPath": "/home/user/.config"},
                                {"name": "writable-3", "mountPath": "/home/user/.local"},
                                {"name": "seeded-0", "mountPath": "/home/user/app"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "writable-0", "emptyDir": {}},
                        {"name": "writable-1", "emptyDir": {}},
                        {"name": "writable-2", "emptyDir": {}},
                        {"name": "writable-3", "emptyDir": {}},
                        {"name": "seeded-0", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def _pod(workload: Any) -> Any:
    return make_deployment(workload, POLICY)["spec"]["template"]["spec"]


def _app(workload: Any) -> Any:
    return _pod(workload)["containers"][0]


@pytest.mark.parametrize("workload", every_kind_of_workload(), ids=lambda w: w.space_id[:20])
def test_every_pod_runs_locked_down(workload: Any) -> None:
    pod = _pod(workload)
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 1000
    assert "hostNetwork" not in pod and "hostPID" not in pod and "hostIPC" not in pod
    for container in pod.get("initContainers", []) + pod["containers"]:
        context = container["securityContext"]
        assert {k: v for k, v in context.items() if k != "readOnlyRootFilesystem"} == {
            k: v for k, v in RESTRICTED.items() if k != "readOnlyRootFilesystem"
        }
        assert "nvidia.com/gpu" not in container["resources"]["limits"] or container["name"] == "app"
    assert all("hostPath" not in volume for volume in pod["volumes"])


@pytest.mark.parametrize("workload", every_kind_of_workload(), ids=lambda w: w.space_id[:20])
def test_the_selector_matches_the_pods_and_only_this_space(workload: Any) -> None:
    deployment = make_deployment(workload, POLICY)
    selector = deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    assert selector["spaces.orchestrator/space"] == space_object_name(workload.space_id)
    assert make_service(workload, POLICY)["spec"]["selector"] == selector


def test_a_new_version_replaces_the_pod_only_once_the_new_one_is_ready() -> None:
    strategy = make_deployment(CPU_SPACE, POLICY)["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    new = replace(CPU_SPACE, revision="9e8d7c6", image=IMAGE.replace("abab", "cdcd"))
    template = make_deployment(new, POLICY)["spec"]["template"]
    assert template["metadata"]["labels"]["spaces.orchestrator/revision"] == "9e8d7c6"
    assert template["spec"]["containers"][0]["image"] == new.image


def test_sleep_scales_to_zero_without_changing_the_spec_hash() -> None:
    awake = make_deployment(CPU_SPACE, POLICY)
    asleep = make_deployment(replace(CPU_SPACE, awake=False), POLICY)
    assert (awake["spec"]["replicas"], asleep["spec"]["replicas"]) == (1, 0)
    assert (
        awake["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
        == (asleep["metadata"]["annotations"][SPEC_HASH_ANNOTATION])
    )
    assert spec_hash(awake) == spec_hash(asleep)


@pytest.mark.parametrize(
    "change",
    [
        {"image": IMAGE.replace("abab", "cdcd")},
        {"restart_token": "after-secrets-changed"},
        {"secret_keys": ("HF_TOKEN",)},
        {"port": 8080},
        {"hardware": hardware_for(mig_flavor())},
    ],
    ids=lambda c: next(iter(c)),
)
def test_any_change_that_matters_changes_the_spec_hash(change: dict[str, Any]) -> None:
    before = make_deployment(CPU_SPACE, POLICY)["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    after = make_deployment(replace(CPU_SPACE, **change), POLICY)["metadata"]["annotations"][
        SPEC_HASH_ANNOTATION
    ]
    assert before != after


def test_a_restart_token_rolls_the_pods() -> None:
    template = make_deployment(replace(CPU_SPACE, restart_token="7"), POLICY)["spec"]["template"]
    assert template["metadata"]["annotations"]["spaces.orchestrator/restart"] == "7"


def test_a_gpu_space_asks_for_its_card_on_the_node_admission_chose() -> None:
    pod = _pod(flavored("a10g-small", node="gpu-node-1"))
    app = pod["containers"][0]
    expected = {"cpu": "4", "memory": "15Gi", "nvidia.com/gpu": "1"}
    assert app["resources"] == {"requests": expected, "limits": expected}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gpu-node-1"]}]}
        ]
    }
    # The device plugin says which card: the platform sets no NVIDIA_VISIBLE_DEVICES of its own.
    assert "NVIDIA_VISIBLE_DEVICES" not in {var["name"] for var in app["env"]}
    # The init container copies files: it holds no GPU.
    assert "nvidia.com/gpu" not in pod["initContainers"][0]["resources"]["limits"]


def test_a_mig_space_asks_for_its_slice_and_the_nodes_of_its_product() -> None:
    pod = _pod(replace(CPU_SPACE, hardware=hardware_for(mig_flavor())))
    assert pod["containers"][0]["resources"]["limits"] == {
        "cpu": "2",
        "memory": "8Gi",
        "nvidia.com/mig-1g.10gb": "1",
    }
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "A100-SXM4-80GB"}
    assert "affinity" not in pod  # admission named no node: the scheduler picks one with a free slice


def test_zero_gpu_and_cpu_spaces_see_no_gpu() -> None:
    for workload in (CPU_SPACE, flavored("zero-a10g")):
        app = _app(workload)
        assert not any(name.startswith("nvidia.com/") for name in app["resources"]["limits"])
        assert {"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"} in app["env"]


def test_gpu_pods_get_the_gpu_runtime_class_and_others_the_sandbox() -> None:
    policy = replace(POLICY, runtime_class="gvisor", gpu_runtime_class="nvidia")
    assert (
        make_deployment(flavored("t4-small"), policy)["spec"]["template"]["spec"]["runtimeClassName"]
        == "nvidia"
    )
    assert make_deployment(CPU_SPACE, policy)["spec"]["template"]["spec"]["runtimeClassName"] == "gvisor"
    assert "runtimeClassName" not in _pod(CPU_SPACE)


@pytest.mark.parametrize(
    "name", ["NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "NVIDIA_REQUIRE_CUDA"]
)
def test_an_app_cannot_choose_its_gpus_through_its_variables(name: str) -> None:
    with pytest.raises(InvalidInputError, match=f"the variable {name} is reserved"):
        make_deployment(replace(CPU_SPACE, secret_keys=(name,)), POLICY)


def test_other_nvidia_names_are_fine() -> None:
    env = _app(replace(CPU_SPACE, secret_keys=("NVIDIA_API_KEY",)))["env"]
    assert env[2]["name"] == "NVIDIA_API_KEY"


def test_a_variable_set_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="variables set twice: PORT"):
        make_deployment(replace(CPU_SPACE, secret_keys=("PORT",)), POLICY)


def test_a_docker_space_keeps_its_writable_image_its_command_and_port() -> None:
    workload = replace(
        CPU_SPACE, filesystem=WRITABLE_ROOT, command=("uvicorn",), args=("main:app",), port=8000
    )
    pod = _pod(workload)
    app = pod["containers"][0]
    assert app["securityContext"]["readOnlyRootFilesystem"] is False
    assert (app["command"], app["args"]) == (["uvicorn"], ["main:app"])
    assert app["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert "initContainers" not in pod
    assert app["volumeMounts"] == [{"name": "writable-0", "mountPath": "/tmp"}]


def test_persistent_storage_is_mounted_at_data_and_replaced_not_rolled() -> None:
    workload = replace(CPU_SPACE, storage=Storage("20Gi", storage_class="fast"))
    deployment = make_deployment(workload, POLICY)
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert {"name": "data", "persistentVolumeClaim": {"claimName": NAME}} in pod["volumes"]
    assert {"name": "data", "mountPath": "/data"} in pod["containers"][0]["volumeMounts"]
    assert pod["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch"
    claim = _without_hash(make_persistent_volume_claim(workload, POLICY))
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "20Gi"}},
        "storageClassName": "fast",
    }
    with pytest.raises(ValueError, match="no persistent storage"):
        make_persistent_volume_claim(CPU_SPACE, POLICY)


def test_the_service_sends_port_80_to_the_app_port() -> None:
    assert _without_hash(make_service(CPU_SPACE, POLICY)) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": METADATA,
        "spec": {
            "type": "ClusterIP",
            "selector": SELECTOR,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            "publishNotReadyAddresses": False,
        },
    }


def test_the_secret_holds_the_variables_and_secrets_encoded() -> None:
    secret = make_secret(CPU_SPACE, POLICY, {"HF_TOKEN": "hf_abc", "GREETING": "héllo"})
    assert secret["type"] == "Opaque" and secret["metadata"]["name"] == NAME
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "GREETING": "héllo",
        "HF_TOKEN": "hf_abc",
    }


def test_a_secret_without_a_named_variable_or_with_a_bad_key_is_refused() -> None:
    with pytest.raises(ValueError, match="the Secret lacks: GREETING"):
        make_secret(CPU_SPACE, POLICY, {"HF_TOKEN": "x"})
    with pytest.raises(InvalidInputError, match="'MY KEY' cannot be a Secret key"):
        make_secret(CPU_SPACE, POLICY, {"HF_TOKEN": "x", "GREETING": "y", "MY KEY": "z"})


def test_extra_labels_are_kept_but_cannot_replace_ours() -> None:
    workload = replace(CPU_SPACE, labels=(("team", "research"), ("spaces.orchestrator/space", "mallory")))
    labels = make_deployment(workload, POLICY)["metadata"]["labels"]
    assert labels["team"] == "research"
    assert labels["spaces.orchestrator/space"] == NAME


@pytest.mark.parametrize(
    ("sdk", "read_only", "expected"),
    [
        ("gradio", True, SDK_FILESYSTEM),
        ("streamlit", True, SDK_FILESYSTEM),
        ("static", True, SDK_FILESYSTEM),
        ("docker", True, WRITABLE_ROOT),
        ("gradio", False, WRITABLE_ROOT),
    ],
)
def test_the_filesystem_follows_the_sdk_and_the_admins_choice(
    sdk: str, read_only: bool, expected: Any
) -> None:
    assert filesystem_for(sdk, read_only_root=read_only) == expected
