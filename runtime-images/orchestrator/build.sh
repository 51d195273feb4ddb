#!/usr/bin/env bash
# Build the control plane's images for Kubernetes from this checkout (see Containerfile):
#
#   runtime-images/orchestrator/build.sh [--tag VERSION] [--push REGISTRY/PREFIX]
#
#   <prefix>/orchestrator:<tag>           every role of the control plane
#   <prefix>/orchestrator-builder:<tag>   the in-cluster builder (Podman's API)
#
# <prefix> is $SPACES_BASE_IMAGE_PREFIX (default localhost/spaces); <tag> defaults to the project's
# version. The base images come from ../build.sh (built first if missing). --push also pushes both to
# REGISTRY/PREFIX (plain HTTP allowed, as for a test cluster's registry) and prints their digests, the
# values image.repository/image.digest and builder.image of the chart.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
prefix="${SPACES_BASE_IMAGE_PREFIX:-localhost/spaces}"
tag="" push=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --push) push="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$tag" ]] || tag="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/pyproject.toml" | head -1)"
engine="${SPACES_CONTAINER_ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}"
log() { printf '[orchestrator-image] %s\n' "$*" >&2; }

"$engine" image exists "$prefix/python:3.11" 2>/dev/null || "$repo/runtime-images/build.sh"
for target in orchestrator builder; do
  name="$prefix/orchestrator"; [[ "$target" == builder ]] && name="$prefix/orchestrator-builder"
  log "building $name:$tag"
  "$engine" build --network host --target "$target" -f "$here/Containerfile" \
    --ignorefile "$here/.containerignore" \
    --build-arg "BASE=$prefix/python:3.11" --build-arg "DEBIAN=$prefix/debian:bookworm" \
    -t "$name:$tag" "$repo"
  if [[ -n "$push" ]]; then
    remote="$push/${name##*/}:$tag"
    "$engine" push --tls-verify=false --digestfile "$here/.digest" "$name:$tag" "$remote"
    log "pushed $remote@$(cat "$here/.digest")"
    rm -f "$here/.digest"
  fi
done
