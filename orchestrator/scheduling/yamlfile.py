"""Reading YAML documents while remembering where each value was written.

The loaders of flavors, inventories and quotas walk a :class:`Doc` instead of plain dicts, so every
error they raise names the file and the line of the offending value. Duplicate keys, which PyYAML
silently lets the last one win, are errors here. Pure: ``parse_yaml`` takes text; ``read_yaml`` is the
one function that opens a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml

from orchestrator.scheduling.errors import ConfigFileError

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class Doc:
    """One YAML node: its plain value, the 1-based line it starts on, and the file it came from."""

    node: yaml.Node
    source: str

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def error(self, problem: str) -> ConfigFileError:
        return ConfigFileError(self.source, self.line, problem)

    # --- shapes ---------------------------------------------------------------------------------

    def is_null(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag == "tag:yaml.org,2002:null"

    def is_scalar(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode)

    def mapping(self, what: str) -> dict[str, Doc]:
        """The node as a mapping of string keys to nodes (an empty one for a null value)."""
        if self.is_null():
            return {}
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"{what} must be a mapping (key: value lines)")
        out: dict[str, Doc] = {}
        for key_node, value_node in self.node.value:
            key = Doc(key_node, self.source)
            if not isinstance(key_node, yaml.ScalarNode):
                raise key.error(f"keys of {what} must be plain names")
            name = str(key_node.value)
            if name in out:
                raise key.error(f"{name!r} appears twice in {what} (first on line {out[name].line})")
            out[name] = Doc(value_node, self.source)
        return out

    def sequence(self, what: str) -> list[Doc]:
        if self.is_null():
            return []
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"{what} must be a list")
        return [Doc(item, self.source) for item in self.node.value]

    def items(self, what: str) -> Iterator[tuple[str, Doc]]:
        yield from self.mapping(what).items()

    # --- scalars --------------------------------------------------------------------------------

    def _scalar(self, what: str) -> Any:
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error(f"{what} must be a single value, not a list or mapping")
        return yaml.safe_load(yaml.serialize(self.node))

    def text(self, what: str) -> str:
        """The value as the text the author wrote (``3.10`` stays ``"3.10"``, numbers become text)."""
        if not isinstance(self.node, yaml.ScalarNode) or self.is_null():
            raise self.error(f"{what} must be a text value")
        return str(self.node.value)

    def integer(self, what: str, *, minimum: int | None = 0) -> int:
        value = self._scalar(what)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{what} must be a whole number, not {self.node.value!r}")
        if minimum is not None and value < minimum:
            raise self.error(f"{what} must be at least {minimum}, not {value}")
        return value

    def choice(self, what: str, options: type[E]) -> E:
        """One of the values of the enum ``options``, written as its value (``time-slicing``)."""
        text = self.text(what)
        for option in options:
            if option.value == text:
                return option
        values = [str(option.value) for option in options]
        listed = ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]
        raise self.error(f"{what} is {listed}, not {text!r}")

    def boolean(self, what: str) -> bool:
        value = self._scalar(what)
        if not isinstance(value, bool):
            raise self.error(f"{what} must be true or false, not {self.node.value!r}")
        return value

    def check_keys(
        self, what: str, allowed: set[str], required: frozenset[str] | set[str] = frozenset()
    ) -> dict[str, Doc]:
        """The mapping, after refusing keys outside ``allowed`` and reporting missing ``required`` ones."""
        fields = self.mapping(what)
        if isinstance(self.node, yaml.MappingNode):
            for key_node, _ in self.node.value:
                if str(key_node.value) not in allowed:
                    known = ", ".join(sorted(allowed))
                    raise Doc(key_node, self.source).error(
                        f"unknown key {key_node.value!r} in {what} (known: {known})"
                    )
        missing = sorted(required - fields.keys())
        if missing:
            raise self.error(f"{what} lacks {', '.join(missing)}")
        return fields


def parse_yaml(text: str, source: str) -> Doc:
    """Parse one YAML document; a syntax error becomes a :class:`ConfigFileError` at its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = int(mark.line) + 1 if mark is not None else None
        raise ConfigFileError(source, line, f"not valid YAML: {exc.problem}") from exc
    if node is None:
        node = yaml.ScalarNode("tag:yaml.org,2002:null", "")
    return Doc(node, source)


def read_yaml(path: str | Path) -> Doc:
    """Read and parse a YAML file (the only I/O here); a missing file is a :class:`ConfigFileError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    return parse_yaml(text, str(path))
