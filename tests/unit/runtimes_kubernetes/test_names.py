"""Names derived from Space ids are valid Kubernetes names and never shared by two Spaces."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.errors import InvalidInputError
from orchestrator.naming import split_space_id
from orchestrator.runtimes.kubernetes.names import (
    belongs_to,
    label_value,
    space_object_name,
    space_selector,
    validate_namespace,
    validate_object_name,
)
from tests.unit.runtimes_kubernetes.helpers import LONGEST_ID

DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def _valid(space_id: str) -> bool:
    try:
        split_space_id(space_id)
    except InvalidInputError:
        return False
    return True


space_ids = st.builds(
    lambda owner, name: f"{owner}/{name}",
    st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9-]{0,38}\Z"),
    st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,95}\Z"),
).filter(_valid)


def test_a_space_name_reads_like_its_id_and_ends_with_a_hash_of_it() -> None:
    # Pinned: a change of derivation would orphan every Space's objects on running clusters.
    assert space_object_name("alice/demo") == "space-alice-demo-b915261526b7e85d"
    assert hashlib.sha256(b"alice/demo").hexdigest().startswith("b915261526b7e85d")
    assert space_object_name("Alice/My_App.v2").startswith("space-alice-my-app-v2-")


@given(space_ids)
def test_every_space_gets_a_valid_service_name_and_label_value(space_id: str) -> None:
    name = space_object_name(space_id)
    assert DNS_1035_LABEL.match(name), name
    assert LABEL_VALUE.match(name), name
    assert len(name) <= 63


def test_the_longest_ids_fit() -> None:
    name = space_object_name(LONGEST_ID)
    assert len(name) <= 63 and DNS_1035_LABEL.match(name) and name.startswith("space-owner-ab-ab-")


@pytest.mark.parametrize(
    "ids",
    [
        ("alice/a_b", "alice/a.b", "alice/a-b", "Alice/a-b", "alice-a/b"),
        ("x/" + "a" * 60 + "1", "x/" + "a" * 60 + "2"),  # equal once the readable part is cut
    ],
)
def test_ids_that_read_alike_get_different_names(ids: tuple[str, ...]) -> None:
    names = [space_object_name(space_id) for space_id in ids]
    assert len(set(names)) == len(ids), names


@given(st.lists(space_ids, min_size=2, max_size=30, unique=True))
def test_different_spaces_never_share_a_name(ids: list[str]) -> None:
    assert len({space_object_name(space_id) for space_id in ids}) == len(ids)


def test_the_selector_is_the_name_and_the_component() -> None:
    assert space_selector("alice/demo") == {
        "app.kubernetes.io/component": "space",
        "spaces.orchestrator/space": space_object_name("alice/demo"),
    }


@pytest.mark.parametrize("value", ["3f2c1a9", "build-17", "v1.2_rc", "a" * 63])
def test_valid_label_values_are_kept(value: str) -> None:
    assert label_value(value) == value


@pytest.mark.parametrize("value", ["", "a" * 64, "refs/heads/main", "-x", "x--" + "0" * 32, "é"])
def test_other_values_are_hashed_into_a_form_no_kept_value_has(value: str) -> None:
    if value == "":
        assert label_value(value) == ""  # an empty label value is valid
        return
    hashed = label_value(value)
    assert hashed.startswith("x--") and hashed != value and LABEL_VALUE.match(hashed)
    assert label_value(hashed) != hashed  # a value of the hashed form is itself hashed, never kept


def test_an_object_belongs_to_the_space_its_annotation_names() -> None:
    metadata = {"annotations": {"spaces.orchestrator/space-id": "alice/demo"}}
    assert belongs_to(metadata, "alice/demo")
    assert not belongs_to(metadata, "mallory/demo")
    assert not belongs_to({}, "alice/demo")


def test_bad_namespaces_and_object_names_are_refused_with_the_rule() -> None:
    assert validate_namespace("spaces") == "spaces"
    with pytest.raises(InvalidInputError, match="at most 63 characters"):
        validate_namespace("Spaces")
    assert validate_object_name("spaces.controller", "Lease name") == "spaces.controller"
    with pytest.raises(InvalidInputError, match="Invalid Lease name 'a_b'"):
        validate_object_name("a_b", "Lease name")
