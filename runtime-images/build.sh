#!/usr/bin/env bash
# Build the runtime base images, skipping those already up to date:
#
#   <prefix>/debian:<suite>           debian/build.sh (debootstrap, or the official image)
#   <prefix>/python:<py>              python/Containerfile on top of debian (or python:<py>-slim);
#                                     3.11 (bookworm) always, others with --python
#   <prefix>/gradio:<VER>-py<py>      gradio/Containerfile on top of python, only with --gradio VER
#
# <prefix> is $SPACES_BASE_IMAGE_PREFIX (default localhost/spaces, the orchestrator's
# base_image_prefix setting). pythons.sh says which Debian suite (debootstrap) or official image
# (registry) each Python version comes from.
#
# Usage: runtime-images/build.sh [--python X.Y]... [--gradio VERSION|latest[-pyX.Y]]... [--force]
#                                [--source debootstrap|registry]
#   --python X.Y   also build localhost/spaces/python:X.Y (repeatable). Offline (debootstrap) that is
#                  3.13 (Debian trixie) besides the default 3.11; the registry source has any version
#   --gradio VER   also build the Gradio image for that version (repeatable; "latest" asks PyPI) on
#                  Python 3.11; VER-pyX.Y (e.g. 6.31.0-py3.13) builds it on Python X.Y instead
#   --streamlit VER also build localhost/spaces/streamlit:VER-py3.11 (repeatable; VER-pyX.Y as above)
#   --node         also build localhost/spaces/node:bookworm (Node.js for static Spaces' build command)
#   --force        rebuild every image even if its recipe hash label matches (layer cache still used)
#   --source S     same as SPACES_BASE_SOURCE=S: debootstrap (default; no registry needed) or
#                  registry (docker.io/library/debian:bookworm-slim and python:X.Y-slim[-suite])
# Env: SPACES_CONTAINER_ENGINE=podman|docker (default: podman if installed, else docker),
#      SPACES_CACHE_DIR (debootstrap tarball cache), EXTRA_APT_PACKAGES (added to the python images).
#
# "Up to date" = the image carries the label org.spaces.recipe equal to a hash of its recipe:
# Containerfile, the ID of the image it is built FROM, the build args and the files copied in.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=pythons.sh
source "$here/pythons.sh"
default_python=3.11
python_versions=("$default_python")
gradio_versions=()
streamlit_versions=()
node=0
force=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --gradio) [[ $# -ge 2 ]] || { echo "--gradio needs a version" >&2; exit 2; }; gradio_versions+=("$2"); shift 2 ;;
    --gradio=*) gradio_versions+=("${1#*=}"); shift ;;
    --python) [[ $# -ge 2 ]] || { echo "--python needs a version" >&2; exit 2; }; python_versions+=("$2"); shift 2 ;;
    --python=*) python_versions+=("${1#*=}"); shift ;;
    --streamlit) [[ $# -ge 2 ]] || { echo "--streamlit needs a version" >&2; exit 2; }; streamlit_versions+=("$2"); shift 2 ;;
    --streamlit=*) streamlit_versions+=("${1#*=}"); shift ;;
    --node) node=1; shift ;;
    --force) force=1; shift ;;
    --source) export SPACES_BASE_SOURCE="$2"; shift 2 ;;
    --source=*) export SPACES_BASE_SOURCE="${1#*=}"; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[runtime-images] %s\n' "$*" >&2; }
die() { printf '[runtime-images] error: %s\n' "$*" >&2; exit 1; }

source_kind="${SPACES_BASE_SOURCE:-debootstrap}"
[[ "$source_kind" == debootstrap || "$source_kind" == registry ]] \
  || die "SPACES_BASE_SOURCE must be debootstrap or registry, not '$source_kind'"
prefix="${SPACES_BASE_IMAGE_PREFIX:-localhost/spaces}"
export SPACES_BASE_SOURCE="$source_kind" SPACES_BASE_IMAGE_PREFIX="$prefix"

engine="${SPACES_CONTAINER_ENGINE:-}"
if [[ -z "$engine" ]]; then
  if command -v podman >/dev/null 2>&1; then engine=podman
  elif command -v docker >/dev/null 2>&1; then engine=docker
  else die "neither podman nor docker is installed (run scripts/install.sh)"; fi
fi
export SPACES_CONTAINER_ENGINE="$engine"
build_flags=(--network host)
if [[ "$engine" == docker ]]; then
  export DOCKER_BUILDKIT=1            # RUN --mount=type=cache needs BuildKit
  "$engine" info >/dev/null 2>&1 || die "docker is installed but its daemon does not answer"
else
  build_flags+=(--layers)
fi

image_id() { "$engine" image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
image_label() {
  "$engine" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}
hash_of() { sha256sum | cut -c1-24; }

# sdk_python SPEC: the Python of an --gradio/--streamlit SPEC (VER-pyX.Y, else the default);
# sdk_version SPEC: its version part.
sdk_python() { if [[ "$1" == *-py* ]]; then echo "${1##*-py}"; else echo "$default_python"; fi; }
sdk_version() { echo "${1%-py*}"; }

# Every Python the SDK images need gets its python image too; each version once, in order.
for spec in "${gradio_versions[@]}" "${streamlit_versions[@]}"; do
  python_versions+=("$(sdk_python "$spec")")
done
declare -A seen_python=()
wanted_pythons=()
for version in "${python_versions[@]}"; do
  python_valid "$version" || die "--python wants a version such as 3.13 (major.minor), not '$version'"
  [[ -n "${seen_python[$version]:-}" ]] && continue
  seen_python[$version]=1
  wanted_pythons+=("$version")
  if [[ "$source_kind" == debootstrap ]] && ! python_suite "$version" >/dev/null; then
    die "Python $version is in no Debian release (offline: $(python_offline_versions | paste -sd' ')); \
--source registry builds it on $(python_registry_image "$version")"
  fi
done

# build NAME TAG CONTEXT RECIPE_HASH [build args...]: skip when the image's recipe label matches.
build() {
  local name="$1" tag="$2" context="$3" recipe="$4"; shift 4
  if [[ $force -eq 0 && "$(image_label "$tag" org.spaces.recipe)" == "$recipe" ]]; then
    log "$name: $tag is up to date (recipe $recipe); skipping"
    return 0
  fi
  log "$name: building $tag (recipe $recipe)"
  local start=$SECONDS
  "$engine" build "${build_flags[@]}" --label "org.spaces.recipe=$recipe" -t "$tag" "$@" "$context"
  log "$name: built $tag in $((SECONDS - start)) s"
}

find_uv() {
  # The static binary: `which uv` may be a pyenv shim script, which would not run in the image.
  local cand
  for cand in "${SPACES_UV_BIN:-}" \
      "$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || true)" \
      "$(readlink -f "$(command -v uv 2>/dev/null || true)" 2>/dev/null || true)" \
      "$HOME/.local/bin/uv" /usr/local/bin/uv; do
    [[ -n "$cand" && -f "$cand" ]] || continue
    [[ "$(head -c 4 "$cand" | od -An -c | tr -d ' ')" == '177ELF' ]] || continue
    echo "$cand"; return 0
  done
  return 1
}

resolve_gradio_version() {
  local v="$1"
  if [[ "$v" != latest ]]; then echo "$v"; return; fi
  curl -fsSL --max-time 30 https://pypi.org/pypi/gradio/json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["version"])'
}

total_start=$SECONDS

# 1. debian ------------------------------------------------------------------------------------
log "engine: $engine; source: $source_kind; prefix: $prefix"
debian_args=()
[[ $force -eq 1 ]] && debian_args+=(--force)
"$here/debian/build.sh" "${debian_args[@]}"

# 2. python ------------------------------------------------------------------------------------
ca_bundle="${SPACES_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
[[ -s "$ca_bundle" ]] || die "CA bundle $ca_bundle not found (apt-get install ca-certificates)"
uv_bin="$(find_uv)" || die "the static uv binary was not found (pip install uv, or set SPACES_UV_BIN)"
extra_apt="${EXTRA_APT_PACKAGES:-}"

ctx="$(mktemp -d "${TMPDIR:-/tmp}/spaces-python-ctx.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
cp "$here/python/Containerfile" "$ctx/Containerfile"
cp "$ca_bundle" "$ctx/ca-certificates.crt"
cp "$uv_bin" "$ctx/uv"
for py in "${wanted_pythons[@]}"; do
  if [[ "$source_kind" == registry ]]; then
    python_base="$(python_registry_image "$py")"
    [[ -n "$(image_id "$python_base")" ]] || { log "pulling $python_base"; "$engine" pull "$python_base"; }
  else
    suite="$(python_suite "$py")"
    [[ "$suite" == bookworm ]] || "$here/debian/build.sh" --suite "$suite" "${debian_args[@]}"
    python_base="$prefix/debian:$suite"
  fi
  python_recipe="$( { cat "$ctx/Containerfile"; image_id "$python_base"; echo "extra=$extra_apt";
                      echo "python=$py"; sha256sum "$ctx/ca-certificates.crt" "$ctx/uv" | cut -d' ' -f1; } \
                    | hash_of)"
  build python "$prefix/python:$py" "$ctx" "$python_recipe" \
    -f "$ctx/Containerfile" --build-arg "BASE=$python_base" --build-arg "EXTRA_APT_PACKAGES=$extra_apt" \
    --build-arg "PYTHON_VERSION=$py"
done

# 3. gradio (optional) -------------------------------------------------------------------------
for spec in "${gradio_versions[@]}"; do
  requested="$(sdk_version "$spec")" py="$(sdk_python "$spec")"
  version="$(resolve_gradio_version "$requested")" || die "could not resolve gradio version '$requested'"
  [[ -n "$version" ]] || die "could not resolve gradio version '$requested'"
  gradio_recipe="$( { cat "$here/gradio/Containerfile"; image_id "$prefix/python:$py";
                      echo "gradio=$version"; } | hash_of)"
  build gradio "$prefix/gradio:$version-py$py" "$here/gradio" "$gradio_recipe" \
    -f "$here/gradio/Containerfile" --build-arg "BASE=$prefix/python:$py" \
    --build-arg "GRADIO_VERSION=$version"
done

# 4. streamlit and node (optional) ----------------------------------------------------------------
for spec in "${streamlit_versions[@]}"; do
  version="$(sdk_version "$spec")" py="$(sdk_python "$spec")"
  streamlit_recipe="$( { cat "$here/streamlit/Containerfile"; image_id "$prefix/python:$py";
                         echo "streamlit=$version"; } | hash_of)"
  build streamlit "$prefix/streamlit:$version-py$py" "$here/streamlit" "$streamlit_recipe" \
    -f "$here/streamlit/Containerfile" --build-arg "BASE=$prefix/python:$py" \
    --build-arg "STREAMLIT_VERSION=$version"
done
if [[ $node -eq 1 ]]; then
  node_recipe="$( { cat "$here/node/Containerfile"; image_id "$prefix/python:3.11"; } | hash_of)"
  build node "$prefix/node:bookworm" "$here/node" "$node_recipe" \
    -f "$here/node/Containerfile" --build-arg "BASE=$prefix/python:3.11"
fi

log "done in $((SECONDS - total_start)) s:"
"$engine" images --filter "reference=$prefix/*" >&2 || true
