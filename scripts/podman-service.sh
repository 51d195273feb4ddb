#!/usr/bin/env bash
# Start Podman's Docker-compatible API socket in the background unless it already answers.
#
#   scripts/podman-service.sh            # root: unix:///run/podman/podman.sock
#   SPACES_PODMAN_SOCKET=/path/to.sock scripts/podman-service.sh
#
# Rootless users get $XDG_RUNTIME_DIR/podman/podman.sock. The service runs with --time=0 (never
# exits on idle), detached from this shell (setsid + nohup), logging to $SPACES_PODMAN_LOG.
# Prints the socket URL (unix://...) as its last line, so callers can export DOCKER_HOST from it.
set -euo pipefail

log() { printf '[podman-service] %s\n' "$*" >&2; }

if ! command -v podman >/dev/null 2>&1; then
  log "podman is not installed (run scripts/install.sh, or: apt-get install podman runc)"
  exit 1
fi

if [[ -n "${SPACES_PODMAN_SOCKET:-}" ]]; then
  sock="${SPACES_PODMAN_SOCKET#unix://}"
elif [[ $(id -u) -eq 0 ]]; then
  sock=/run/podman/podman.sock
else
  sock="${XDG_RUNTIME_DIR:-/tmp/podman-run-$(id -u)}/podman/podman.sock"
fi
if [[ -n "${SPACES_PODMAN_LOG:-}" ]]; then
  logfile="$SPACES_PODMAN_LOG"
elif [[ $(id -u) -eq 0 ]]; then
  logfile=/var/log/spaces-podman-service.log
else
  logfile="$(dirname "$sock")/podman-service.log"
fi

ping() { curl -fsS --max-time 3 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }

if ping; then
  log "API socket already answers at unix://$sock"
  echo "unix://$sock"
  exit 0
fi

mkdir -p "$(dirname "$sock")" "$(dirname "$logfile")"
if [[ -S "$sock" ]]; then
  log "removing stale socket $sock"
  rm -f "$sock"
fi
log "starting: podman system service --time=0 unix://$sock (log: $logfile)"
setsid nohup podman system service --time=0 "unix://$sock" >>"$logfile" 2>&1 < /dev/null &
pid=$!
for _ in $(seq 1 120); do
  if ping; then
    log "API socket answers at unix://$sock (pid $pid)"
    echo "unix://$sock"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    log "podman system service exited; last lines of $logfile:"
    tail -n 20 "$logfile" >&2 || true
    exit 1
  fi
  sleep 0.25
done
log "timed out waiting for unix://$sock to answer; see $logfile"
exit 1
