# Where each Python version's base image comes from; sourced by build.sh (and by the unit tests).
#
# debootstrap source: a Python version exists offline only as some Debian release's python3, so the
# table below is the whole list (checked against deb.debian.org: bullseye has 3.9, bookworm 3.11,
# trixie 3.13; no Debian release ships 3.10 or 3.12).
# registry source: the official python:<version>-slim image, which exists for every version; on the
# Debian release of the table when the version has one, so that both sources agree.

# The table: each version there is, with the Debian suite whose python3 it is.
PYTHON_SUITES=(3.11:bookworm 3.13:trixie)

# python_suite VERSION: the Debian suite whose python3 is VERSION; fails for any other version.
python_suite() {
  local entry
  for entry in "${PYTHON_SUITES[@]}"; do
    if [[ "${entry%%:*}" == "$1" ]]; then
      echo "${entry#*:}"
      return 0
    fi
  done
  return 1
}

# python_offline_versions: the versions of the table, one per line.
python_offline_versions() {
  local entry
  for entry in "${PYTHON_SUITES[@]}"; do echo "${entry%%:*}"; done
}

# python_registry_image VERSION: the official image the registry source builds VERSION's image on.
python_registry_image() {
  local suite
  if suite="$(python_suite "$1")"; then
    echo "docker.io/library/python:$1-slim-$suite"
  else
    echo "docker.io/library/python:$1-slim"
  fi
}

# python_valid VERSION: whether VERSION is a CPython 3 minor version (3.10, not 3.10.4 or 3).
python_valid() { [[ "$1" =~ ^3\.[0-9]+$ ]]; }
