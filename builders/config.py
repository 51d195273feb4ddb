"""A Space's configuration, read from the YAML front matter of its README.md.

Owns ``SpaceConfig`` and ``parse_space_config``: which keys a Space may set, their types and
defaults, and the errors and warnings an author sees for them. It accepts every SDK the Hub knows;
whether this server can build one is the builders' question, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from yaml.nodes import ScalarNode

from builders.durations import EXAMPLES as DURATION_EXAMPLES
from builders.durations import parse_duration
from builders.errors import ConfigError
from builders.files import normalize_path
from builders.frontmatter import extract_front_matter
from builders.values import (
    Entry,
    is_null,
    read_bool,
    read_int,
    read_strict_string,
    read_string,
    read_string_list,
    read_string_map,
    read_string_or_list,
    read_version,
    tag_of,
)

VALID_SDKS = ("gradio", "streamlit", "docker", "static")
DEFAULT_PYTHON_VERSION = "3.10"
DEFAULT_APP_FILE = "app.py"
DEFAULT_APP_PORT = 7860

PYTHON_VERSION = re.compile(r"3\.\d+(?:\.\d+)?")
SDK_VERSION = re.compile(r"\d+(?:\.\d+){0,3}(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?")

T = TypeVar("T")

CUSTOM_HEADER_VALUES: dict[str, tuple[str, ...]] = {
    "cross-origin-embedder-policy": ("unsafe-none", "require-corp", "credentialless"),
    "cross-origin-opener-policy": ("same-origin", "same-origin-allow-popups", "unsafe-none"),
    "cross-origin-resource-policy": ("same-site", "same-origin", "cross-origin"),
}


@dataclass(frozen=True)
class SpaceConfig:
    """What the README's front matter says about building and running the Space.

    ``sdk`` is None when the front matter does not name one; the builders then detect it from the
    repo's files (``builders.registry``).
    """

    sdk: str | None
    sdk_version: str | None = None
    python_version: str = DEFAULT_PYTHON_VERSION
    app_file: str = DEFAULT_APP_FILE
    app_port: int = DEFAULT_APP_PORT
    title: str | None = None
    startup_duration_timeout: float | None = None
    custom_headers: dict[str, str] = field(default_factory=dict)
    disable_embedding: bool = False
    base_path: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    key_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int | None:
        """README.md line of ``key`` if the author wrote it."""
        return self.key_lines.get(key)


def _read_sdk(entry: Entry) -> str:
    sdk = read_strict_string(entry)
    if sdk not in VALID_SDKS:
        raise entry.invalid(f"must be one of {', '.join(VALID_SDKS)}; got {sdk!r}")
    return sdk


def _read_sdk_version(entry: Entry) -> str:
    return read_version(entry, SDK_VERSION, "5.49.1")


def _read_python_version(entry: Entry) -> str:
    return read_version(entry, PYTHON_VERSION, "3.11")


def _read_app_file(entry: Entry) -> str:
    path = normalize_path(read_string(entry).strip())
    if path is None:
        raise entry.invalid(f"must be a path inside the repo such as app.py, got {entry.node.value!r}")
    return path


def _read_base_path(entry: Entry) -> str:
    path = read_string(entry)
    if not path.startswith("/"):
        raise entry.invalid(f"must begin with '/', got {path!r}")
    return path


def _read_timeout(entry: Entry) -> float:
    node = entry.node
    if not isinstance(node, ScalarNode) or tag_of(node) not in ("str", "int", "float"):
        raise entry.wrong_type(f"a duration like {DURATION_EXAMPLES}")
    try:
        return parse_duration(node.value)
    except ValueError as error:
        raise entry.invalid(str(error)) from error


def _read_custom_headers(entry: Entry) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value, line in read_string_map(entry):
        allowed = CUSTOM_HEADER_VALUES.get(name.lower())
        if allowed is None:
            raise ConfigError(
                f"custom_headers may only set {', '.join(CUSTOM_HEADER_VALUES)}; got {name!r}", line=line
            )
        if value.lower() not in allowed:
            raise ConfigError(
                f"custom_headers {name} must be one of {', '.join(allowed)}; got {value!r}", line=line
            )
        headers[name.lower()] = value.lower()
    return headers


def _read_header_style(entry: Entry) -> str:
    style = read_string(entry)
    if style not in ("mini", "default"):
        raise entry.invalid(f"must be 'mini' or 'default', got {style!r}")
    return style


CORE_KEYS = frozenset(
    {
        "sdk",
        "sdk_version",
        "python_version",
        "app_file",
        "app_port",
        "title",
        "startup_duration_timeout",
        "custom_headers",
        "disable_embedding",
        "base_path",
    }
)

# Documented keys that do not change how the Space is built; kept in ``SpaceConfig.extra``.
_EXTRA_READERS: dict[str, Callable[[Entry], object]] = {
    "emoji": read_string,
    "colorFrom": read_string,
    "colorTo": read_string,
    "pinned": read_bool,
    "short_description": read_string,
    "thumbnail": read_string,
    "license": read_string,
    "duplicated_from": read_string,
    "models": read_string_list,
    "datasets": read_string_list,
    "tags": read_string_list,
    "fullWidth": read_bool,
    "header": _read_header_style,
    "app_build_command": read_string,
    "preload_from_hub": read_string_list,
    "suggested_hardware": read_string,
    "suggested_storage": read_string,
    "hf_oauth": read_bool,
    "hf_oauth_scopes": read_string_list,
    "hf_oauth_expiration_minutes": lambda e: read_int(e, 1, 43200),
    "hf_oauth_authorized_org": read_string_or_list,
    "dev-mode-folder": read_string,
    "metaTitle": read_string,
    "description": read_string,
}

KNOWN_KEYS = CORE_KEYS | frozenset(_EXTRA_READERS)


def parse_space_config(readme_text: str | None) -> SpaceConfig:
    """Parse README.md's front matter; raise ``ConfigError`` with a README line for anything wrong."""
    front = extract_front_matter(readme_text)
    entries: dict[str, Entry] = {}
    warnings: list[str] = []
    pairs = [] if front.root is None else front.root.value
    for key_node, value_node in pairs:
        line = front.line_of(key_node)
        if not isinstance(key_node, ScalarNode) or is_null(key_node):
            raise ConfigError("each line of the front matter must be `key: value`", line=line)
        key = str(key_node.value)
        if key in entries:
            warnings.append(
                f"Key {key!r} appears on lines {entries[key].key_line} and {line}; using line {line}"
            )
        entries[key] = Entry(key=key, node=value_node, key_line=line, line_offset=front.first_line)

    extra: dict[str, object] = {}
    for key, entry in entries.items():
        if key not in KNOWN_KEYS:
            warnings.append(f"Unknown key {key!r} on line {entry.key_line} is ignored")
        elif key in _EXTRA_READERS and not is_null(entry.node):
            extra[key] = _EXTRA_READERS[key](entry)

    return SpaceConfig(
        sdk=_take(entries, "sdk", _read_sdk, None),
        sdk_version=_take(entries, "sdk_version", _read_sdk_version, None),
        python_version=_take(entries, "python_version", _read_python_version, DEFAULT_PYTHON_VERSION),
        app_file=_take(entries, "app_file", _read_app_file, DEFAULT_APP_FILE),
        app_port=_take(entries, "app_port", lambda e: read_int(e, 1, 65535), DEFAULT_APP_PORT),
        title=_take(entries, "title", read_string, None),
        startup_duration_timeout=_take(entries, "startup_duration_timeout", _read_timeout, None),
        custom_headers=_take(entries, "custom_headers", _read_custom_headers, {}),
        disable_embedding=_take(entries, "disable_embedding", read_bool, False),
        base_path=_take(entries, "base_path", _read_base_path, None),
        extra=extra,
        warnings=warnings,
        key_lines={key: entry.key_line for key, entry in entries.items()},
    )


def _take(entries: dict[str, Entry], key: str, reader: Callable[[Entry], T], default: T) -> T:
    """The value of ``key`` read by ``reader``; ``default`` when absent or left empty."""
    entry = entries.get(key)
    if entry is None or is_null(entry.node):
        return default
    return reader(entry)
