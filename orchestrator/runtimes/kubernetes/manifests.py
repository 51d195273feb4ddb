"""Pure constructors of a Space's Kubernetes objects: Deployment, Service, Secret, PersistentVolumeClaim.

Each ``make_*`` takes plain values (``workload.SpaceWorkload``, ``workload.ClusterPolicy``) and returns
a JSON-ready dict (typed in ``bodies``) stamped with a ``spec-hash`` annotation; nothing here reads
configuration, a clock or the cluster. The runtime creates or patches what these return, skipping the
patch when the hash on the cluster's object is already the wanted one (knative's drift check).

The pod is locked down as the strangers' code it runs deserves: uid 1000 and never root, no privilege
escalation, every capability dropped, the runtime's default seccomp profile, a read-only root where the
SDK allows (``workload.Filesystem``), no service account token, no Service environment variables (they
would list every other Space), no GPU visible unless it holds one. A new version rolls out with the old
pod serving until the new one is Ready (``maxUnavailable: 0``, ``maxSurge: 1``); a Space with persistent
storage is replaced instead (two versions writing one volume at once is not safe).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from orchestrator.errors import InvalidInputError
from orchestrator.runtimes.kubernetes import bodies as b
from orchestrator.runtimes.kubernetes.names import (
    RESTART_ANNOTATION,
    REVISION_LABEL,
    SPACE_ID_ANNOTATION,
    SPEC_HASH_ANNOTATION,
    label_value,
    space_labels,
    space_object_name,
    space_selector,
    validate_namespace,
)
from orchestrator.runtimes.kubernetes.workload import APP_USER, ClusterPolicy, SpaceWorkload
from orchestrator.scheduling.flavors import Toleration

APP_CONTAINER = "app"
PORT_NAME = "http"
SERVICE_PORT = 80
RESERVED_ENV = frozenset(
    {
        "NVIDIA_VISIBLE_DEVICES",
        "NVIDIA_DRIVER_CAPABILITIES",
        "NVIDIA_MIG_CONFIG_DEVICES",
        "NVIDIA_MIG_MONITOR_DEVICES",
        "NVIDIA_DISABLE_REQUIRE",
    }
)
"""Variables the NVIDIA container toolkit reads to decide which GPUs a container sees: only the
platform sets them (an app could otherwise ask for every card of its node)."""
_RESERVED_ENV_PREFIX = "NVIDIA_REQUIRE_"
NO_GPU = "void"
"""``NVIDIA_VISIBLE_DEVICES`` of a pod without a GPU: CUDA images default to ``all``, which on a node
whose default runtime is NVIDIA's would show the app every card."""
SEED_COMMAND = ("cp", "-R", "--no-dereference", "--preserve=mode,timestamps,links")
"""Copies an image folder into its writable volume (GNU cp, in every Debian-based SDK image)."""
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def spec_hash(obj: Mapping[str, Any]) -> str:
    """A hash of everything that makes ``obj`` what it is, except its replica count (sleep and wake
    scale a Deployment without that being drift) and the hash annotation itself."""
    copy: dict[str, Any] = json.loads(json.dumps(obj))
    copy.get("metadata", {}).get("annotations", {}).pop(SPEC_HASH_ANNOTATION, None)
    copy.get("spec", {}).pop("replicas", None)
    canonical = json.dumps(copy, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def stamp_spec_hash(metadata: b.ObjectMeta, obj: Mapping[str, Any]) -> None:
    """Put ``spec_hash(obj)`` into ``metadata`` (the metadata of ``obj``)."""
    metadata.setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = spec_hash(obj)


def _metadata(workload: SpaceWorkload, policy: ClusterPolicy) -> b.ObjectMeta:
    return {
        "name": space_object_name(workload.space_id),
        "namespace": validate_namespace(policy.namespace),
        "labels": space_labels(workload.space_id, dict(workload.labels)),
        "annotations": {SPACE_ID_ANNOTATION: workload.space_id},
    }


# --- Deployment ------------------------------------------------------------------------------------


def _security_context(*, read_only_root: bool) -> b.ContainerSecurityContext:
    return {
        "runAsNonRoot": True,
        "runAsUser": APP_USER,
        "runAsGroup": APP_USER,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": read_only_root,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _check_env_name(name: str) -> None:
    if not _ENV_NAME.match(name):
        raise InvalidInputError(f"{name!r} is not a valid environment variable name")
    if name in RESERVED_ENV or name.startswith(_RESERVED_ENV_PREFIX):
        raise InvalidInputError(
            f"the variable {name} is reserved: it chooses which GPUs the app sees; remove it from the"
            " Space's variables and secrets"
        )


def _env(workload: SpaceWorkload, secret_name: str) -> list[b.EnvVar]:
    env: list[b.EnvVar] = [{"name": name, "value": value} for name, value in workload.env]
    env += [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}
        for key in workload.secret_keys
    ]
    names = [var["name"] for var in env]
    for name in names:
        _check_env_name(name)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"variables set twice: {', '.join(duplicates)}")
    if not workload.hardware.holds_gpu:
        env.append({"name": "NVIDIA_VISIBLE_DEVICES", "value": NO_GPU})
    return env


def _volumes(workload: SpaceWorkload) -> tuple[list[b.Volume], list[b.VolumeMount], list[b.Container]]:
    """The pod's volumes, the app container's mounts, and the init containers that seed folders."""
    volumes: list[b.Volume] = []
    mounts: list[b.VolumeMount] = []
    seeders: list[b.Container] = []
    for index, path in enumerate(workload.filesystem.writable):
        volumes.append({"name": f"writable-{index}", "emptyDir": {}})
        mounts.append({"name": f"writable-{index}", "mountPath": path})
    for index, path in enumerate(workload.filesystem.seeded):
        name = f"seeded-{index}"
        volumes.append({"name": name, "emptyDir": {}})
        mounts.append({"name": name, "mountPath": path})
        # The copy belongs to the app's user (ownership is not preserved), so the app can write it.
        seeders.append(
            {
                "name": f"seed-{index}",
                "image": workload.image,
                "command": [*SEED_COMMAND, f"{path}/.", "/seed/"],
                "volumeMounts": [{"name": name, "mountPath": "/seed"}],
            }
        )
    if workload.storage is not None:
        volumes.append(
            {"name": "data", "persistentVolumeClaim": {"claimName": space_object_name(workload.space_id)}}
        )
        mounts.append({"name": "data", "mountPath": workload.storage.mount_path})
    return volumes, mounts, seeders


def _resources(workload: SpaceWorkload, *, gpu: bool) -> b.ResourceRequirements:
    amounts = {
        name: quantity
        for name, quantity in workload.hardware.resources
        if gpu or name != workload.hardware.gpu_resource
    }
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _pod_spec(workload: SpaceWorkload, policy: ClusterPolicy, name: str) -> b.PodSpec:
    volumes, mounts, seeders = _volumes(workload)
    read_only = workload.filesystem.read_only_root
    app: b.Container = {
        "name": APP_CONTAINER,
        "image": workload.image,
        "imagePullPolicy": "IfNotPresent",
        "env": _env(workload, name),
        "ports": [{"name": PORT_NAME, "containerPort": workload.port, "protocol": "TCP"}],
        # Ready once the app accepts connections: the other runtimes wait for any HTTP answer, which an
        # HTTP probe cannot express (it fails on 4xx/5xx, and a Docker Space may answer 404 on "/").
        # Checked every second, so a waking Space is routed to within about a second of listening.
        "readinessProbe": {
            "tcpSocket": {"port": PORT_NAME},
            "periodSeconds": 1,
            "timeoutSeconds": 1,
            "successThreshold": 1,
            "failureThreshold": 3,
        },
        "resources": _resources(workload, gpu=True),
        "securityContext": _security_context(read_only_root=read_only),
        "volumeMounts": mounts,
    }
    if workload.command:
        app["command"] = list(workload.command)
    if workload.args:
        app["args"] = list(workload.args)
    for seeder in seeders:
        seeder["imagePullPolicy"] = "IfNotPresent"
        seeder["resources"] = _resources(workload, gpu=False)
        seeder["securityContext"] = _security_context(read_only_root=True)
    spec: b.PodSpec = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        # The pause process is PID 1 and reaps zombies; the app, not PID 1, dies on SIGTERM even when
        # it installs no handler (PID 1 ignores signals it does not handle).
        "shareProcessNamespace": True,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": APP_USER,
            "runAsGroup": APP_USER,
            "fsGroup": APP_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": policy.termination_grace_s,
        "containers": [app],
        "volumes": volumes,
    }
    if workload.storage is not None:
        # Without it the kubelet re-owns every file of the volume at each start.
        spec["securityContext"]["fsGroupChangePolicy"] = "OnRootMismatch"
    if seeders:
        spec["initContainers"] = seeders
    hardware = workload.hardware
    if hardware.node_selector:
        spec["nodeSelector"] = dict(hardware.node_selector)
    if hardware.tolerations:
        spec["tolerations"] = [_toleration(t) for t in hardware.tolerations]
    if hardware.node is not None:
        on_node: b.NodeSelectorTerm = {
            "matchFields": [{"key": "metadata.name", "operator": "In", "values": [hardware.node]}]
        }
        required: b.NodeSelector = {"nodeSelectorTerms": [on_node]}
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}
    runtime_class = (policy.gpu_runtime_class if hardware.holds_gpu else None) or policy.runtime_class
    if runtime_class:
        spec["runtimeClassName"] = runtime_class
    if policy.image_pull_secret:
        spec["imagePullSecrets"] = [{"name": policy.image_pull_secret}]
    return spec


def _toleration(toleration: Toleration) -> b.TolerationBody:
    body: b.TolerationBody = {"key": toleration.key, "operator": toleration.operator}
    if toleration.operator == "Equal":
        body["value"] = toleration.value
    if toleration.effect:
        body["effect"] = toleration.effect
    return body


def make_deployment(workload: SpaceWorkload, policy: ClusterPolicy) -> b.Deployment:
    """The Deployment that runs ``workload``: one replica awake, zero asleep."""
    metadata = _metadata(workload, policy)
    name = metadata["name"]
    template_annotations = {SPACE_ID_ANNOTATION: workload.space_id}
    if workload.restart_token:
        template_annotations[RESTART_ANNOTATION] = workload.restart_token
    strategy: b.DeploymentStrategy = (
        {"type": "Recreate"}
        if workload.storage is not None
        else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    )
    deployment: b.Deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": 1 if workload.awake else 0,
            "selector": {"matchLabels": space_selector(workload.space_id)},
            "strategy": strategy,
            "revisionHistoryLimit": 1,
            "progressDeadlineSeconds": workload.startup_timeout_s,
            "template": {
                "metadata": {
                    "labels": {**metadata["labels"], REVISION_LABEL: label_value(workload.revision)},
                    "annotations": template_annotations,
                },
                "spec": _pod_spec(workload, policy, name),
            },
        },
    }
    stamp_spec_hash(metadata, deployment)
    return deployment


# --- Service, Secret, storage ----------------------------------------------------------------------


def make_service(workload: SpaceWorkload, policy: ClusterPolicy) -> b.Service:
    """A ClusterIP Service on port 80 for the Space's Ready pod (the proxy's upstream)."""
    metadata = _metadata(workload, policy)
    service: b.Service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": "ClusterIP",
            "selector": space_selector(workload.space_id),
            "ports": [{"name": PORT_NAME, "port": SERVICE_PORT, "targetPort": PORT_NAME, "protocol": "TCP"}],
            "publishNotReadyAddresses": False,
        },
    }
    stamp_spec_hash(metadata, service)
    return service


def make_secret(workload: SpaceWorkload, policy: ClusterPolicy, values: Mapping[str, str]) -> b.Secret:
    """The Secret holding the Space's variables and secrets (``values``); the Deployment gives the app
    those named in ``workload.secret_keys``."""
    for key in values:
        if not _SECRET_KEY.match(key) or len(key) > 253:
            raise InvalidInputError(f"{key!r} cannot be a Secret key (letters, digits, '-', '_' and '.')")
    missing = sorted(set(workload.secret_keys) - set(values))
    if missing:
        raise ValueError(f"the workload names variables the Secret lacks: {', '.join(missing)}")
    metadata = _metadata(workload, policy)
    secret: b.Secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in sorted(values.items())},
    }
    stamp_spec_hash(metadata, secret)
    return secret


def make_persistent_volume_claim(workload: SpaceWorkload, policy: ClusterPolicy) -> b.PersistentVolumeClaim:
    """The claim behind the Space's ``/data``; ``ValueError`` if the workload asks for no storage."""
    if workload.storage is None:
        raise ValueError(f"{workload.space_id} has no persistent storage")
    metadata = _metadata(workload, policy)
    claim: b.PersistentVolumeClaim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata,
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": workload.storage.size}},
        },
    }
    if workload.storage.storage_class is not None:
        claim["spec"]["storageClassName"] = workload.storage.storage_class
    stamp_spec_hash(metadata, claim)
    return claim
