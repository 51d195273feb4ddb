#!/usr/bin/env bash
# Build the root base image ${SPACES_BASE_IMAGE_PREFIX:-localhost/spaces}/debian:<suite> (bookworm
# unless --suite says otherwise; trixie is the base of the Python 3.13 image).
#
# Sources (SPACES_BASE_SOURCE):
#   debootstrap (default) - no registry needed: `debootstrap --variant=minbase bookworm` into a temp
#                           rootfs, tarred to ${SPACES_CACHE_DIR:-/var/cache/spaces-orchestrator}, then
#                           `<engine> import`. The tarball is kept, so re-importing never re-debootstraps.
#   registry              - pull docker.io/library/debian:<suite>-slim and tag it.
#
# Options: --suite S  the Debian release (default $SPACES_DEBIAN_SUITE, else bookworm)
#          --force  rebuild even if the image exists (re-uses the cached tarball; delete it, or use
#                   --refresh, to debootstrap again)
#          --refresh  debootstrap again even if the tarball is cached (implies --force)
# Env: SPACES_CONTAINER_ENGINE (podman|docker), SPACES_DEBIAN_MIRROR, SPACES_DEBIAN_SUITE (bookworm).
set -euo pipefail

force=0 refresh=0
suite="${SPACES_DEBIAN_SUITE:-bookworm}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --suite) [[ $# -ge 2 ]] || { echo "--suite needs a name" >&2; exit 2; }; suite="$2"; shift ;;
    --suite=*) suite="${1#*=}" ;;
    --force) force=1 ;;
    --refresh) force=1 refresh=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[debian] %s\n' "$*" >&2; }
die() { printf '[debian] error: %s\n' "$*" >&2; exit 1; }

source_kind="${SPACES_BASE_SOURCE:-debootstrap}"
prefix="${SPACES_BASE_IMAGE_PREFIX:-localhost/spaces}"
[[ "$suite" =~ ^[a-z]+$ ]] || die "--suite must be a Debian release name such as bookworm, not '$suite'"
mirror="${SPACES_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache_dir="${SPACES_CACHE_DIR:-/var/cache/spaces-orchestrator}"
image="$prefix/debian:$suite"

engine="${SPACES_CONTAINER_ENGINE:-}"
if [[ -z "$engine" ]]; then
  if command -v podman >/dev/null 2>&1; then engine=podman
  elif command -v docker >/dev/null 2>&1; then engine=docker
  else die "neither podman nor docker is installed (run scripts/install.sh)"; fi
fi

image_exists() { "$engine" image inspect "$1" >/dev/null 2>&1; }

if [[ $force -eq 0 ]] && image_exists "$image"; then
  log "$image is present; skipping (use --force to re-import)"
  exit 0
fi

case "$source_kind" in
  registry)
    upstream="docker.io/library/debian:${suite}-slim"
    log "pulling $upstream"
    "$engine" pull "$upstream"
    "$engine" tag "$upstream" "$image"
    log "tagged $upstream as $image"
    exit 0
    ;;
  debootstrap) ;;
  *) die "SPACES_BASE_SOURCE must be debootstrap or registry, not '$source_kind'" ;;
esac

tarball="$cache_dir/debian-$suite-minbase-$(dpkg --print-architecture 2>/dev/null || uname -m).tar"

if [[ $refresh -eq 1 || ! -s "$tarball" ]]; then
  [[ $(id -u) -eq 0 ]] || die "debootstrap needs root (or set SPACES_BASE_SOURCE=registry)"
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"
  mkdir -p "$cache_dir"
  rootfs="$(mktemp -d "$cache_dir/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs" "$tarball.tmp"' EXIT
  log "debootstrap --variant=minbase $suite from $mirror (about 30 s)"
  start=$SECONDS
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" > "$rootfs.log" 2>&1 || {
    tail -n 30 "$rootfs.log" >&2; rm -f "$rootfs.log"; die "debootstrap failed"; }
  rm -f "$rootfs.log"
  # Same apt sources as the official image (security updates included); drop what the image
  # does not need: downloaded .debs and package lists (every Containerfile runs apt-get update).
  cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
SOURCES
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* 2>/dev/null || true
  mkdir -p "$rootfs/var/lib/apt/lists/partial"
  # Containers do not run init scripts; stop postinst scripts from trying to start services.
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  log "debootstrap done in $((SECONDS - start)) s; writing $tarball"
  tar --numeric-owner --xattrs -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
  trap - EXIT
else
  log "using cached rootfs $tarball"
fi

start=$SECONDS
digest="$(sha256sum "$tarball" | cut -c1-16)"
log "importing $tarball as $image"
"$engine" import \
  --change 'CMD ["/bin/bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL org.spaces.recipe=debootstrap-$suite-$digest" \
  "$tarball" "$image" >/dev/null
log "imported $image in $((SECONDS - start)) s"
