"""The plain values the manifests are made from: one Space's workload and the cluster's policy.

:class:`SpaceWorkload` is what one Space needs (its image by digest, port, command, environment, the
names of its secrets, hardware, filesystem, storage, awake or asleep); :class:`ClusterPolicy` is what
every Space of the installation shares (the Spaces namespace, who may reach the apps, where apps may
go, the runtime class). Both are frozen and hold no clients: ``manifests`` and ``policies`` are pure
functions of them. ``config.KubernetesSettings.policy()`` builds the policy from the environment the
Helm chart sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.runtimes.kubernetes.hardware import Hardware

APP_USER = 1000
"""The uid (and gid) apps run as, as on the Hub."""
HOME = "/home/user"
APP_DIR = f"{HOME}/app"


@dataclass(frozen=True)
class Filesystem:
    """How the app's container sees its files.

    ``read_only_root``: the image's files cannot be changed; only ``writable`` folders (empty at start)
    and ``seeded`` folders (a copy of the image's folder, made by an init container before the app
    starts) can. The Python SDK images keep the app in ``/home/user/app`` and write caches under
    ``$HOME``; a Docker Space may write anywhere, so it gets a writable root (:data:`WRITABLE_ROOT`).
    """

    read_only_root: bool
    writable: tuple[str, ...] = ()
    seeded: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        paths = [*self.writable, *self.seeded]
        for path in paths:
            if not path.startswith("/") or path.rstrip("/") != path or "//" in path or path == "/":
                raise ValueError(f"a mount path is absolute, without a trailing '/': {path!r}")
        if len(set(paths)) != len(paths):
            raise ValueError(f"a folder is listed twice: {paths}")


SDK_FILESYSTEM = Filesystem(
    read_only_root=True,
    writable=("/tmp", f"{HOME}/.cache", f"{HOME}/.config", f"{HOME}/.local"),
    seeded=(APP_DIR,),
)
"""Gradio, Streamlit and static Spaces: the app folder is writable (Gradio writes cached examples and
flagged data next to the app), and so are the usual caches; the virtual environment is not, so an app
that runs ``pip install`` at start needs :data:`WRITABLE_ROOT`."""

WRITABLE_ROOT = Filesystem(read_only_root=False, writable=("/tmp",))
"""Docker Spaces (and any Space the admin exempts): the image's files are writable, as on the Hub."""


def filesystem_for(sdk: str, *, read_only_root: bool = True) -> Filesystem:
    """The filesystem of a Space of ``sdk``: a Docker Space's image stays writable (its Dockerfile may
    expect to write anywhere), the others are read-only unless the admin turned that off
    (``KubernetesSettings.read_only_root_filesystem``)."""
    if sdk == "docker" or not read_only_root:
        return WRITABLE_ROOT
    return SDK_FILESYSTEM


@dataclass(frozen=True)
class Storage:
    """Persistent storage, mounted at ``/data`` as on the Hub, from the Space's PersistentVolumeClaim."""

    size: str
    """A Kubernetes quantity (``20Gi``)."""
    storage_class: str | None = None
    mount_path: str = "/data"


@dataclass(frozen=True)
class SpaceWorkload:
    """Everything needed to run one Space on the cluster; the manifests derive the rest."""

    space_id: str
    """``owner/name``."""
    revision: str
    """What runs: the build or commit id (a pod label, so pods of two versions can be told apart)."""
    image: str
    """The image by digest: ``registry:5000/spaces/alice-demo@sha256:…``."""
    port: int = 7860
    command: tuple[str, ...] = ()
    """Overrides the image's entrypoint; empty keeps it."""
    args: tuple[str, ...] = ()
    """Overrides the image's command; empty keeps it."""
    env: tuple[tuple[str, str], ...] = ()
    """Plain variables the platform sets (``PORT``, ``SPACE_ID``, ``SYSTEM``…), in order."""
    secret_keys: tuple[str, ...] = ()
    """Keys of the Space's Secret (its variables and secrets) given to the app as variables."""
    hardware: Hardware = field(default_factory=Hardware)
    filesystem: Filesystem = SDK_FILESYSTEM
    storage: Storage | None = None
    awake: bool = True
    """``False``: zero replicas (asleep or paused: no pod, no GPU held)."""
    restart_token: str = ""
    """Changes whenever the pods must be replaced though nothing else did: a restart, or new values
    of the Space's variables or secrets (which the Deployment only names)."""
    startup_timeout_s: int = 30 * 60
    """How long a new pod may take to be Ready before the rollout counts as failed."""
    labels: tuple[tuple[str, str], ...] = ()
    """Extra labels for the Space's objects and pods (the team, the flavor…)."""

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not a TCP port")
        if "@sha256:" not in self.image:
            raise ValueError(f"the image is referred to by digest (name@sha256:…), not {self.image!r}")


@dataclass(frozen=True)
class PodSelector:
    """Pods by namespace labels and pod labels (a NetworkPolicy peer)."""

    namespace_labels: tuple[tuple[str, str], ...]
    pod_labels: tuple[tuple[str, str], ...]


DEFAULT_BLOCKED_CIDRS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
)
"""Private, shared (carrier-grade NAT) and link-local IPv4 ranges: pods, Services, nodes and the cloud's
metadata service (169.254.169.254) usually live there."""
DEFAULT_BLOCKED_CIDRS_V6 = ("fc00::/7", "fe80::/10")


@dataclass(frozen=True)
class ClusterPolicy:
    """What all Spaces of one installation share."""

    namespace: str
    """The Spaces namespace (the control plane runs elsewhere)."""
    proxy: PodSelector
    """The proxy pods: the only ones that may open a connection to an app."""
    dns: PodSelector = PodSelector(
        namespace_labels=(("kubernetes.io/metadata.name", "kube-system"),),
        pod_labels=(("k8s-app", "kube-dns"),),
    )
    """The cluster's DNS servers, the only in-cluster destination an app may reach (on port 53)."""
    blocked_cidrs: tuple[str, ...] = DEFAULT_BLOCKED_CIDRS
    """IPv4 ranges apps may not reach; the rest of ``0.0.0.0/0`` (the internet) they may."""
    blocked_cidrs_v6: tuple[str, ...] = DEFAULT_BLOCKED_CIDRS_V6
    """IPv6 ranges apps may not reach; the rest of ``::/0`` they may."""
    runtime_class: str | None = None
    """A RuntimeClass for every app (a sandbox such as gVisor or Kata), if the cluster has one."""
    gpu_runtime_class: str | None = None
    """The RuntimeClass of pods that hold a GPU (``nvidia`` on clusters whose default runtime is not)."""
    image_pull_secret: str | None = None
    """A Secret in the Spaces namespace with the registry's credentials, if it needs them."""
    termination_grace_s: int = 30
    """How long a replaced or sleeping app may finish its requests after SIGTERM."""
