"""Typed shapes of the Kubernetes objects the manifests make: JSON-ready dicts, checked by mypy.

Only the fields we set are declared (``total=False`` where Kubernetes has optional fields), with the
API's own camelCase names, so a typo in a key fails type checking instead of being dropped by the API
server. The API client can send these dicts as they are.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]
    resourceVersion: str


class LabelSelector(TypedDict):
    matchLabels: dict[str, str]


class ResourceRequirements(TypedDict):
    requests: dict[str, str]
    limits: dict[str, str]


class Capabilities(TypedDict):
    drop: list[str]


class SeccompProfile(TypedDict):
    type: Literal["RuntimeDefault"]


class ContainerSecurityContext(TypedDict):
    runAsNonRoot: bool
    runAsUser: int
    runAsGroup: int
    allowPrivilegeEscalation: bool
    privileged: bool
    readOnlyRootFilesystem: bool
    capabilities: Capabilities
    seccompProfile: SeccompProfile


class PodSecurityContext(TypedDict):
    runAsNonRoot: bool
    runAsUser: int
    runAsGroup: int
    fsGroup: int
    seccompProfile: SeccompProfile
    fsGroupChangePolicy: NotRequired[Literal["OnRootMismatch"]]


class SecretKeySelector(TypedDict):
    name: str
    key: str


class EnvVarSource(TypedDict):
    secretKeyRef: SecretKeySelector


class EnvVar(TypedDict):
    name: str
    value: NotRequired[str]
    valueFrom: NotRequired[EnvVarSource]


class ContainerPort(TypedDict):
    name: str
    containerPort: int
    protocol: Literal["TCP"]


class TCPSocketAction(TypedDict):
    port: str


class Probe(TypedDict):
    tcpSocket: TCPSocketAction
    periodSeconds: int
    timeoutSeconds: int
    successThreshold: int
    failureThreshold: int


class VolumeMount(TypedDict):
    name: str
    mountPath: str


class Container(TypedDict, total=False):
    name: str
    image: str
    imagePullPolicy: str
    command: list[str]
    args: list[str]
    env: list[EnvVar]
    ports: list[ContainerPort]
    readinessProbe: Probe
    resources: ResourceRequirements
    securityContext: ContainerSecurityContext
    volumeMounts: list[VolumeMount]


class EmptyDirVolumeSource(TypedDict, total=False):
    sizeLimit: str


class PersistentVolumeClaimVolumeSource(TypedDict):
    claimName: str


class Volume(TypedDict):
    name: str
    emptyDir: NotRequired[EmptyDirVolumeSource]
    persistentVolumeClaim: NotRequired[PersistentVolumeClaimVolumeSource]


class TolerationBody(TypedDict, total=False):
    key: str
    operator: str
    value: str
    effect: str


class NodeSelectorRequirement(TypedDict):
    key: str
    operator: str
    values: list[str]


class NodeSelectorTerm(TypedDict):
    matchFields: list[NodeSelectorRequirement]


class NodeSelector(TypedDict):
    nodeSelectorTerms: list[NodeSelectorTerm]


class NodeAffinity(TypedDict):
    requiredDuringSchedulingIgnoredDuringExecution: NodeSelector


class Affinity(TypedDict):
    nodeAffinity: NodeAffinity


class LocalObjectReference(TypedDict):
    name: str


class PodSpec(TypedDict, total=False):
    automountServiceAccountToken: bool
    enableServiceLinks: bool
    shareProcessNamespace: bool
    securityContext: PodSecurityContext
    terminationGracePeriodSeconds: int
    initContainers: list[Container]
    containers: list[Container]
    volumes: list[Volume]
    nodeSelector: dict[str, str]
    tolerations: list[TolerationBody]
    affinity: Affinity
    runtimeClassName: str
    imagePullSecrets: list[LocalObjectReference]


class PodTemplateSpec(TypedDict):
    metadata: ObjectMeta
    spec: PodSpec


class RollingUpdate(TypedDict):
    maxUnavailable: int
    maxSurge: int


class DeploymentStrategy(TypedDict):
    type: Literal["RollingUpdate", "Recreate"]
    rollingUpdate: NotRequired[RollingUpdate]


class DeploymentSpec(TypedDict):
    replicas: int
    selector: LabelSelector
    strategy: DeploymentStrategy
    revisionHistoryLimit: int
    progressDeadlineSeconds: int
    template: PodTemplateSpec


class Deployment(TypedDict):
    apiVersion: Literal["apps/v1"]
    kind: Literal["Deployment"]
    metadata: ObjectMeta
    spec: DeploymentSpec


class ServicePort(TypedDict):
    name: str
    port: int
    targetPort: str
    protocol: Literal["TCP"]


class ServiceSpec(TypedDict):
    type: Literal["ClusterIP"]
    selector: dict[str, str]
    ports: list[ServicePort]
    publishNotReadyAddresses: bool


class Service(TypedDict):
    apiVersion: Literal["v1"]
    kind: Literal["Service"]
    metadata: ObjectMeta
    spec: ServiceSpec


class Secret(TypedDict):
    apiVersion: Literal["v1"]
    kind: Literal["Secret"]
    metadata: ObjectMeta
    type: Literal["Opaque"]
    data: dict[str, str]


class ResourceRequests(TypedDict):
    requests: dict[str, str]


class PersistentVolumeClaimSpec(TypedDict, total=False):
    accessModes: list[str]
    resources: ResourceRequests
    storageClassName: str


class PersistentVolumeClaim(TypedDict):
    apiVersion: Literal["v1"]
    kind: Literal["PersistentVolumeClaim"]
    metadata: ObjectMeta
    spec: PersistentVolumeClaimSpec


# "except" and "from" are Python keywords: these two use the functional TypedDict syntax.
IPBlock = TypedDict("IPBlock", {"cidr": str, "except": NotRequired[list[str]]})


class NetworkPolicyPeer(TypedDict, total=False):
    namespaceSelector: LabelSelector
    podSelector: LabelSelector
    ipBlock: IPBlock


class NetworkPolicyPort(TypedDict):
    protocol: Literal["TCP", "UDP"]
    port: int


NetworkPolicyIngressRule = TypedDict(
    "NetworkPolicyIngressRule", {"from": list[NetworkPolicyPeer], "ports": list[NetworkPolicyPort]}
)


class NetworkPolicyEgressRule(TypedDict, total=False):
    to: list[NetworkPolicyPeer]
    ports: list[NetworkPolicyPort]


class NetworkPolicySpec(TypedDict):
    podSelector: LabelSelector
    policyTypes: list[Literal["Ingress", "Egress"]]
    ingress: list[NetworkPolicyIngressRule]
    egress: list[NetworkPolicyEgressRule]


class NetworkPolicy(TypedDict):
    apiVersion: Literal["networking.k8s.io/v1"]
    kind: Literal["NetworkPolicy"]
    metadata: ObjectMeta
    spec: NetworkPolicySpec


class LeaseSpec(TypedDict, total=False):
    holderIdentity: str
    leaseDurationSeconds: int
    acquireTime: str
    renewTime: str
    leaseTransitions: int


class Lease(TypedDict):
    apiVersion: Literal["coordination.k8s.io/v1"]
    kind: Literal["Lease"]
    metadata: ObjectMeta
    spec: LeaseSpec
