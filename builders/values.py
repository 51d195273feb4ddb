"""Typed readers for front-matter values, one per kind of value a key may hold.

Owns checking a composed YAML node against the type a key needs and saying, in the author's terms,
what was found instead (``sdk_version must be a string, got a list``). Version keys are read as the
text the author wrote, so an unquoted ``3.10`` stays ``"3.10"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from builders.errors import ConfigError

_TAG = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class Entry:
    """One ``key: value`` of the front matter with the README lines of the key and its value."""

    key: str
    node: Node
    key_line: int
    line_offset: int

    def line_of(self, node: Node) -> int:
        return node.start_mark.line + self.line_offset

    def wrong_type(self, expected: str, node: Node | None = None) -> ConfigError:
        found = describe(self.node if node is None else node)
        return ConfigError(f"{self.key} must be {expected}, got {found}", line=self.key_line)

    def invalid(self, message: str, node: Node | None = None) -> ConfigError:
        line = self.key_line if node is None else self.line_of(node)
        return ConfigError(f"{self.key} {message}", line=line)


def tag_of(node: Node) -> str:
    return node.tag.removeprefix(_TAG)


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and tag_of(node) == "null"


def describe(node: Node) -> str:
    """What a value is, in words: ``a list``, ``a mapping``, ``the number 3``, ``the text 'x'``."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    kind = tag_of(node)
    if kind == "null":
        return "nothing (an empty value)"
    if kind in ("int", "float"):
        return f"the number {node.value}"
    if kind == "bool":
        return f"the boolean {node.value}"
    if kind == "str":
        return f"the text {node.value!r}"
    if kind == "timestamp":
        return f"the date {node.value}"
    return f"{node.value!r}"


def to_python(node: Node) -> object:
    """The plain Python value PyYAML's safe loader would give for ``node``."""
    return SafeConstructor().construct_object(node, deep=True)


def read_string(entry: Entry) -> str:
    """A string; numbers and booleans are taken as the text written (``title: 2048`` is ``"2048"``)."""
    node = entry.node
    if not isinstance(node, ScalarNode) or is_null(node):
        raise entry.wrong_type("a string")
    return cast(str, node.value)


def read_strict_string(entry: Entry) -> str:
    """A string the author wrote as text, not a number or boolean."""
    node = entry.node
    if not isinstance(node, ScalarNode) or tag_of(node) != "str":
        raise entry.wrong_type("a string")
    return cast(str, node.value)


def read_version(entry: Entry, pattern: re.Pattern[str], example: str) -> str:
    """A version as written: unquoted ``3.10`` is ``"3.10"``, never the number 3.1."""
    node = entry.node
    if not isinstance(node, ScalarNode) or is_null(node) or tag_of(node) == "bool":
        raise entry.wrong_type("a string")
    text = cast(str, node.value).strip()
    if not pattern.fullmatch(text):
        raise entry.invalid(f"must be a version like {example}, got {text!r}")
    return text


def read_bool(entry: Entry) -> bool:
    node = entry.node
    if not isinstance(node, ScalarNode) or tag_of(node) != "bool":
        raise entry.wrong_type("true or false")
    return bool(to_python(node))


def read_int(entry: Entry, low: int, high: int) -> int:
    node = entry.node
    if not isinstance(node, ScalarNode) or tag_of(node) != "int":
        raise entry.wrong_type("a whole number")
    value = cast(int, to_python(node))
    if not low <= value <= high:
        raise entry.invalid(f"must be between {low} and {high}, got {value}")
    return value


def read_string_list(entry: Entry) -> list[str]:
    node = entry.node
    if not isinstance(node, SequenceNode):
        raise entry.wrong_type("a list of strings")
    items: list[str] = []
    for item in node.value:
        if not isinstance(item, ScalarNode) or is_null(item):
            raise entry.invalid(f"must be a list of strings, but one item is {describe(item)}", item)
        items.append(cast(str, item.value))
    return items


def read_string_or_list(entry: Entry) -> str | list[str]:
    if isinstance(entry.node, SequenceNode):
        return read_string_list(entry)
    if not isinstance(entry.node, ScalarNode) or is_null(entry.node):
        raise entry.wrong_type("a string or a list of strings")
    return read_string(entry)


def read_string_map(entry: Entry) -> list[tuple[str, str, int]]:
    """A mapping of string to string, as ``(key, value, line)`` in the order written."""
    node = entry.node
    if not isinstance(node, MappingNode):
        raise entry.wrong_type("a mapping of names to values")
    pairs: list[tuple[str, str, int]] = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode) or not isinstance(value_node, ScalarNode):
            raise entry.invalid("must map names to single values", key_node)
        if is_null(value_node):
            raise entry.invalid(f"entry {key_node.value!r} has no value", key_node)
        pairs.append((cast(str, key_node.value), cast(str, value_node.value), entry.line_of(key_node)))
    return pairs
