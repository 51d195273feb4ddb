"""Kubernetes objects checked against the API schemas of each Kubernetes version, offline.

The schemas are the OpenAPI-derived JSON schemas PyPI's ``kubernetes-validate`` ships (strict variant:
unknown fields are errors, as a server-side apply of our objects would make them):

- 1.25 and newer: the installed ``kubernetes-validate`` (test extras), through its own ``validate``.
  It re-reads 2 MB of definitions on every call, so its two file readers are memoised here (one test
  run validates thousands of objects).
- 1.20 to 1.24: newer releases dropped them; ``scripts/install.sh`` puts the schema folders of
  ``kubernetes-validate`` 1.28.0 under the user's cache. Its code cannot run on current libraries
  (it imports ``pkg_resources`` and ``distutils``), so those schemas are checked here with the same
  validator class and reference resolution it used (JSON Schema 2020-12, ``_definitions.json``
  beside each kind's file).

An object whose kind and ``apiVersion`` have no schema in a version is an error: that version does not
serve it (``policy/v1`` PodDisruptionBudget before 1.21, for instance).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv
from referencing import Registry
from referencing.jsonschema import DRAFT202012

OLDEST = (1, 20)
OLD_SCHEMAS_RELEASE = "1.28.0"
NEWEST_OLD = (1, 24)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spaces-orchestrator" / "kubernetes-validate" / OLD_SCHEMAS_RELEASE


OLD_SCHEMAS = _cache_dir() / "kubernetes_validate" / "kubernetes-json-schema"

# Memoised: the library reads and parses the version list and every schema file on each call.
kv.schema_contents = functools.cache(kv.schema_contents)
kv.all_versions = functools.cache(kv.all_versions)


def versions() -> tuple[str, ...]:
    """Every minor version from 1.20 to the newest the installed schemas know."""
    newest = max(tuple(int(part) for part in v.split(".")[:2]) for v in kv.all_versions())
    return tuple(f"1.{minor}" for minor in range(OLDEST[1], newest[1] + 1))


def missing_old_schemas() -> str | None:
    """Why the 1.20-1.24 schemas are not there, or ``None``."""
    if not (OLD_SCHEMAS / "v1.20.0-local-strict").is_dir():
        return f"no Kubernetes 1.20-1.24 schemas in {OLD_SCHEMAS}: run scripts/install.sh"
    return None


def _schema_file(obj: Mapping[str, Any]) -> str:
    # As kubernetes-validate names them: rbac.authorization.k8s.io/v1 Role -> role-rbac-v1.json
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", str(obj["apiVersion"]))
    return f"{str(obj['kind']).lower()}-{group_version}.json"


@functools.cache
def _old_registry(version: str) -> Registry[Any]:
    folder = OLD_SCHEMAS / f"v{version}.0-local-strict"
    definitions = json.loads((folder / "_definitions.json").read_text())
    registry: Registry[Any] = Registry().with_resource(
        f"file://{folder}/_definitions.json", DRAFT202012.create_resource(definitions)
    )
    return registry


@functools.cache
def _old_validator(version: str, filename: str) -> jsonschema.protocols.Validator | None:
    folder = OLD_SCHEMAS / f"v{version}.0-local-strict"
    path = folder / filename
    if not path.is_file():
        return None
    base = f"file://{folder}/"
    registry = _old_registry(version)
    schema = {**json.loads(path.read_text()), "$id": base + filename}
    schema.pop("$schema", None)
    validator: jsonschema.protocols.Validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return validator


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top)"


def problems(obj: Mapping[str, Any], version: str) -> list[str]:
    """What is wrong with ``obj`` for Kubernetes ``version`` (``1.20``…); empty when it is valid."""
    what = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')} ({obj.get('apiVersion')})"
    minor = tuple(int(part) for part in version.split("."))
    if minor <= NEWEST_OLD:
        validator = _old_validator(version, _schema_file(obj))
        if validator is None:
            return [f"{what}: Kubernetes {version} does not serve this kind and apiVersion"]
        return [f"{what}: {_path(e)}: {e.message}" for e in validator.iter_errors(dict(obj))]
    try:
        kv.validate(dict(obj), version, strict=True)
    except kv.SchemaNotFoundError:
        return [f"{what}: Kubernetes {version} does not serve this kind and apiVersion"]
    except kv.ValidationError as error:
        return [f"{what}: {_path(error)}: {error.message}"]
    return []
