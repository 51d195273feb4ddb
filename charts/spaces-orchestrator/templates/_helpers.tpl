{{/* Names, labels and the pieces every role's pod shares. */}}

{{/* The release's name, short enough that "<fullname>-<component>" fits a 63-character label. */}}
{{- define "spaces.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "spaces.component" -}}
{{- printf "%s-%s" (include "spaces.fullname" .root) .component -}}
{{- end -}}

{{- define "spaces.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: spaces-orchestrator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select one component's pods: (dict "root" $ "component" "api") */}}
{{- define "spaces.selectorLabels" -}}
app.kubernetes.io/name: spaces-orchestrator
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "spaces.componentLabels" -}}
{{ include "spaces.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "spaces.image" -}}
{{- $v := .Values.image -}}
{{- if $v.digest -}}
{{- printf "%s@%s" $v.repository $v.digest -}}
{{- else -}}
{{- printf "%s:%s" $v.repository (default .Chart.AppVersion $v.tag) -}}
{{- end -}}
{{- end -}}

{{- define "spaces.builderImage" -}}
{{- $v := .Values.image -}}
{{- if .Values.builder.image -}}
{{- .Values.builder.image -}}
{{- else if $v.digest -}}
{{- fail "builder.image: set it when image.digest is set (the builder variant has a digest of its own)" -}}
{{- else -}}
{{- printf "%s-builder:%s" $v.repository (default .Chart.AppVersion $v.tag) -}}
{{- end -}}
{{- end -}}

{{- define "spaces.spacesNamespace" -}}
{{- default (printf "%s-spaces" (include "spaces.fullname" .)) .Values.spaces.namespace.name -}}
{{- end -}}

{{- define "spaces.scheme" -}}
{{- if .Values.ingress.tls.enabled -}}https{{- else -}}http{{- end -}}
{{- end -}}

{{- define "spaces.publicUrl" -}}
{{- default (printf "%s://%s" (include "spaces.scheme" .) .Values.domain) .Values.publicUrl | trimSuffix "/" -}}
{{- end -}}

{{- define "spaces.leaseName" -}}
{{- default (include "spaces.component" (dict "root" . "component" "controller")) .Values.controller.leaderElection.leaseName -}}
{{- end -}}

{{/* How pods reach one of the release's Services: its DNS name, or without cluster DNS the address
the kubelet put in the pod's environment. (dict "root" $ "component" "postgresql") */}}
{{- define "spaces.serviceHost" -}}
{{- $name := include "spaces.component" . -}}
{{- if .root.Values.clusterDns -}}
{{- printf "%s.%s.svc" $name .root.Release.Namespace -}}
{{- else -}}
{{- printf "$(%s_SERVICE_HOST)" ($name | upper | replace "-" "_") -}}
{{- end -}}
{{- end -}}

{{/* Where workers push images: host:port/prefix. */}}
{{- define "spaces.registry" -}}
{{- if .Values.registry.bundled -}}
{{- printf "%s:5000/%s" (include "spaces.serviceHost" (dict "root" . "component" "registry")) .Values.registry.prefix -}}
{{- else -}}
{{- printf "%s/%s" .Values.registry.external.host .Values.registry.prefix -}}
{{- end -}}
{{- end -}}

{{/* Where nodes pull Space images from: host:port/prefix. */}}
{{- define "spaces.pullRegistry" -}}
{{- if .Values.registry.bundled -}}
{{- printf "localhost:%d/%s" (int .Values.registry.nodePort) .Values.registry.prefix -}}
{{- else -}}
{{- printf "%s/%s" .Values.registry.external.host .Values.registry.prefix -}}
{{- end -}}
{{- end -}}

{{- define "spaces.baseImagePrefix" -}}
{{- default (printf "%s-base" (include "spaces.registry" .)) .Values.registry.baseImagePrefix -}}
{{- end -}}

{{/* policy/v1 from 1.21 (where the cluster serves it), policy/v1beta1 before. */}}
{{- define "spaces.pdbApiVersion" -}}
{{- if and (.Capabilities.APIVersions.Has "policy/v1") (semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version) -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end -}}
{{- end -}}

{{- define "spaces.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "spaces.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: {{ .readOnly | default false }}
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "spaces.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The environment every role of the control plane gets. */}}
{{- define "spaces.commonEnv" -}}
- name: SPACES_RUNTIME
  value: kubernetes
- name: SPACES_DATA_DIR
  value: /var/lib/spaces
- name: SPACES_DOMAIN
  value: {{ .Values.domain | quote }}
- name: SPACES_PUBLIC_URL
  value: {{ include "spaces.publicUrl" . | quote }}
{{- if .Values.database.bundled }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ include "spaces.component" (dict "root" . "component" "services") }}, key: postgres-password}
- name: SPACES_DATABASE_URL
  value: {{ printf "postgresql+psycopg://spaces:$(POSTGRES_PASSWORD)@%s:5432/spaces" (include "spaces.serviceHost" (dict "root" . "component" "postgresql")) | quote }}
{{- else }}
- name: SPACES_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "spaces.component" (dict "root" . "component" "services")) .Values.database.external.existingSecret }}
      key: {{ ternary .Values.database.external.existingSecretKey "database-url" (ne .Values.database.external.existingSecret "") }}
{{- end }}
{{- if .Values.redis.bundled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ include "spaces.component" (dict "root" . "component" "services") }}, key: redis-password}
- name: SPACES_REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379/0" (include "spaces.serviceHost" (dict "root" . "component" "redis")) | quote }}
{{- else }}
- name: SPACES_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "spaces.component" (dict "root" . "component" "services")) .Values.redis.external.existingSecret }}
      key: {{ ternary .Values.redis.external.existingSecretKey "redis-url" (ne .Values.redis.external.existingSecret "") }}
{{- end }}
- name: SPACES_REGISTRY
  value: {{ include "spaces.registry" . | quote }}
- name: SPACES_BASE_IMAGE_PREFIX
  value: {{ include "spaces.baseImagePrefix" . | quote }}
{{- end -}}

{{/* What the kubernetes runtime reads (orchestrator/runtimes/kubernetes/config.py). */}}
{{- define "spaces.kubernetesEnv" -}}
- name: SPACES_KUBERNETES_NAMESPACE
  value: {{ include "spaces.spacesNamespace" . | quote }}
- name: SPACES_KUBERNETES_PROXY_NAMESPACE
  value: {{ .Release.Namespace | quote }}
- name: SPACES_KUBERNETES_PROXY_POD_LABELS
  value: {{ include "spaces.selectorLabels" (dict "root" . "component" "proxy") | fromYaml | toJson | quote }}
- name: SPACES_KUBERNETES_DNS_NAMESPACE_LABELS
  value: {{ .Values.spaces.networkPolicy.dns.namespaceLabels | toJson | quote }}
- name: SPACES_KUBERNETES_DNS_POD_LABELS
  value: {{ .Values.spaces.networkPolicy.dns.podLabels | toJson | quote }}
- name: SPACES_KUBERNETES_BLOCKED_CIDRS
  value: {{ .Values.spaces.networkPolicy.blockedCidrs | toJson | quote }}
- name: SPACES_KUBERNETES_BLOCKED_CIDRS_V6
  value: {{ .Values.spaces.networkPolicy.blockedCidrsV6 | toJson | quote }}
- name: SPACES_KUBERNETES_RUNTIME_CLASS
  value: {{ .Values.spaces.runtimeClassName | quote }}
- name: SPACES_KUBERNETES_GPU_RUNTIME_CLASS
  value: {{ .Values.spaces.gpuRuntimeClassName | quote }}
- name: SPACES_KUBERNETES_IMAGE_PULL_SECRET
  value: {{ ternary "" .Values.registry.external.pullSecret .Values.registry.bundled | quote }}
- name: SPACES_KUBERNETES_IMAGE_REGISTRY
  value: {{ include "spaces.pullRegistry" . | quote }}
- name: SPACES_KUBERNETES_READ_ONLY_ROOT_FILESYSTEM
  value: {{ .Values.spaces.readOnlyRootFilesystem | quote }}
- name: SPACES_KUBERNETES_STORAGE_CLASS
  value: {{ .Values.spaces.persistentStorage.storageClass | quote }}
- name: SPACES_KUBERNETES_PERSISTENT_STORAGE
  value: {{ .Values.spaces.persistentStorage.enabled | quote }}
- name: SPACES_KUBERNETES_TERMINATION_GRACE_SECONDS
  value: {{ .Values.spaces.terminationGracePeriodSeconds | quote }}
- name: SPACES_KUBERNETES_LEASE_NAMESPACE
  value: {{ .Release.Namespace | quote }}
- name: SPACES_KUBERNETES_LEASE_NAME
  value: {{ include "spaces.leaseName" . | quote }}
- name: SPACES_KUBERNETES_LEASE_DURATION_SECONDS
  value: {{ .Values.controller.leaderElection.leaseDurationSeconds | quote }}
- name: SPACES_KUBERNETES_RENEW_DEADLINE_SECONDS
  value: {{ .Values.controller.leaderElection.renewDeadlineSeconds | quote }}
- name: SPACES_KUBERNETES_RETRY_PERIOD_SECONDS
  value: {{ .Values.controller.leaderElection.retryPeriodSeconds | quote }}
- name: SPACES_KUBERNETES_HOLDER_IDENTITY
  valueFrom:
    fieldRef: {fieldPath: metadata.name}
{{- if .Values.spaces.flavors }}
- name: SPACES_FLAVORS_FILE
  value: /etc/spaces/flavors.yaml
{{- end }}
{{- end -}}

{{/* The data folder and /tmp of a control-plane pod: (dict "root" $ "claim" "<name or empty>") */}}
{{- define "spaces.dataVolumes" -}}
- name: data
{{- if .claim }}
  persistentVolumeClaim: {claimName: {{ .claim }}}
{{- else }}
  emptyDir: {}
{{- end }}
- name: tmp
  emptyDir: {}
{{- if .root.Values.spaces.flavors }}
- name: flavors
  configMap: {name: {{ include "spaces.component" (dict "root" .root "component" "flavors") }}}
{{- end }}
{{- end -}}

{{- define "spaces.dataMounts" -}}
- {name: data, mountPath: /var/lib/spaces}
- {name: tmp, mountPath: /tmp}
{{- if .Values.spaces.flavors }}
- {name: flavors, mountPath: /etc/spaces, readOnly: true}
{{- end }}
{{- end -}}

{{/* A control-plane pod's scheduling fields from its role's values. */}}
{{- define "spaces.placement" -}}
{{- with .nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A generated credential that survives upgrades: the existing Secret's value is read back (lookup);
(dict "root" $ "secret" <name> "key" <key> "fresh" <new value>) */}}
{{- define "spaces.kept" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- .fresh -}}
{{- end -}}
{{- end -}}
