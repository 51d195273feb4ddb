"""Every Kubernetes name, label and annotation the runtime derives from a Space, in one place.

Two requirements, as for kubespawner's slugs: a derived name is **always valid** and **never shared by
two Spaces**. A Space's objects are all named ``space_object_name(space_id)`` (one object per kind:
Deployment, Service, Secret, NetworkPolicy, PersistentVolumeClaim), and the same text is the value of
its ``SPACE_LABEL``.

Validity. ``space-`` + at most 40 characters of ``[a-z0-9-]`` + ``-`` + 16 hex digits is at most 63
characters, starts with a letter and ends with a hex digit: a DNS-1123 label and a DNS-1035 label
(Services need the latter), and a valid label value. Pod names the Deployment derives from it
(``-<10>-<5>`` appended) stay far below the 253 characters of a DNS-1123 subdomain.

Collision freedom. The readable middle is lossy (``Alice/a_b``, ``alice/a.b`` and ``alice-a/b`` all
read ``alice-a-b``), so it carries no guarantee; the suffix does: the first 64 bits of SHA-256 of the
exact Space id. Two different Spaces share a name only if their ids collide in those 64 bits: by the
birthday bound about one chance in 10^8 with 600,000 Spaces, and a tenant who wants to land on
another's name must find a second preimage, about 2^64 hashes. The runtime still checks the
``SPACE_ID_ANNOTATION`` of an object it finds before acting on it (``belongs_to``), so even a collision
could not hand one Space another's objects.

Label values from other ids (revisions): ``label_value`` keeps a valid value as it is and maps anything
else to ``x--<32 hex>`` of its SHA-256. A kept value never starts with ``x--`` (that prefix is refused
for kept values), so kept and hashed values cannot meet, and two hashed ones meet only through a 128-bit
collision.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from orchestrator.errors import InvalidInputError
from orchestrator.naming import split_space_id, subdomain

PREFIX = "spaces.orchestrator"
"""Prefix of our label and annotation keys (a DNS subdomain, as Kubernetes requires)."""

SPACE_LABEL = f"{PREFIX}/space"
"""On every object of a Space and its pods: the Space's object name."""
REVISION_LABEL = f"{PREFIX}/revision"
"""On pods: which build of the Space they run (``label_value`` of the revision id)."""
SPACE_ID_ANNOTATION = f"{PREFIX}/space-id"
"""The exact ``owner/name`` (annotations have no character limits)."""
SPEC_HASH_ANNOTATION = f"{PREFIX}/spec-hash"
"""Hash of the desired object, compared before updating (drift detection without deep diffs)."""
RESTART_ANNOTATION = f"{PREFIX}/restart"
"""On the pod template: a token whose change rolls the pods (restart, new secret values)."""

NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "spaces-orchestrator"
SPACE_COMPONENT = "space"

_HASH_HEX = 16
_READABLE_MAX = 63 - len("space-") - 1 - _HASH_HEX
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_HASHED_VALUE_PREFIX = "x--"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def space_object_name(space_id: str) -> str:
    """The name of every object of the Space ``owner/name``: ``space-alice-demo-1f2e3d4c5b6a7988``."""
    owner, name = split_space_id(space_id)
    readable = re.sub(r"[^a-z0-9-]", "", subdomain(owner, name))[:_READABLE_MAX].strip("-")
    return f"space-{readable}-{_digest(space_id)[:_HASH_HEX]}"


def label_value(text: str) -> str:
    """``text`` if it is a valid label value (and not in the hashed form), else ``x--`` + its hash."""
    if _LABEL_VALUE.match(text) and not text.startswith(_HASHED_VALUE_PREFIX):
        return text
    return _HASHED_VALUE_PREFIX + _digest(text)[:32]


def space_selector(space_id: str) -> dict[str, str]:
    """The labels that select the pods of one Space (the Deployment's immutable selector)."""
    return {COMPONENT_LABEL: SPACE_COMPONENT, SPACE_LABEL: space_object_name(space_id)}


def space_labels(space_id: str, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """Labels of a Space's objects: the selector's, ``managed-by``, and the caller's ``extra``."""
    return {**extra, NAME_LABEL: MANAGED_BY, MANAGED_BY_LABEL: MANAGED_BY, **space_selector(space_id)}


def belongs_to(metadata: Mapping[str, object], space_id: str) -> bool:
    """Whether an object read from the cluster is ``space_id``'s (its annotation names the Space)."""
    annotations = metadata.get("annotations")
    return isinstance(annotations, Mapping) and annotations.get(SPACE_ID_ANNOTATION) == space_id


def validate_namespace(namespace: str) -> str:
    """``namespace`` if it is a valid namespace name (a DNS-1123 label), else ``InvalidInputError``."""
    if not _DNS_LABEL.match(namespace):
        raise InvalidInputError(
            f"Invalid Kubernetes namespace {namespace!r}: lower-case letters, digits and '-',"
            " at most 63 characters, starting and ending with a letter or digit."
        )
    return namespace


def validate_object_name(name: str, what: str) -> str:
    """``name`` if it is a valid object name (a DNS-1123 subdomain), else ``InvalidInputError``."""
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise InvalidInputError(
            f"Invalid {what} {name!r}: lower-case letters, digits, '-' and '.', at most 253 characters,"
            " starting and ending with a letter or digit."
        )
    return name
