"""Find the YAML front matter at the top of README.md and compose it into YAML nodes.

Owns locating the block between ``---`` lines and turning YAML syntax problems into
``ConfigError``s whose line numbers are README.md's, not the block's. Composing (not loading) keeps
every key's line and the exact text of every scalar. It knows nothing about which keys a Space has.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node

from builders.errors import ConfigError

DELIMITER = "---"

MINIMAL_EXAMPLE = "---\nsdk: gradio\napp_file: app.py\n---"

_NEEDS_BLOCK = (
    "a YAML block between `---` lines at the very top that says how to build the Space, "
    f"for example:\n\n{MINIMAL_EXAMPLE}"
)


@dataclass(frozen=True)
class FrontMatter:
    """The composed block; ``first_line`` is the README line (1-based) of the block's first line."""

    root: MappingNode | None
    first_line: int

    def line_of(self, node: Node) -> int:
        """README.md line (1-based) where ``node`` starts."""
        return node.start_mark.line + self.first_line


def extract_front_matter(readme_text: str | None) -> FrontMatter:
    """The README's front matter; ``root`` is None when the block is empty (or only comments)."""
    if readme_text is None:
        raise ConfigError(f"the Space has no README.md; add one that starts with {_NEEDS_BLOCK}")
    lines = readme_text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")
    opening = next((i for i, line in enumerate(lines) if line.strip()), None)
    if opening is None or lines[opening].rstrip() != DELIMITER:
        raise ConfigError(f"no front matter found; start README.md with {_NEEDS_BLOCK}")
    closing = next(
        (i for i in range(opening + 1, len(lines)) if lines[i].rstrip() == DELIMITER),
        None,
    )
    if closing is None:
        raise ConfigError(
            "the YAML block opened with `---` here is never closed; "
            "add a line with just `---` after its last key",
            line=opening + 1,
        )
    body = "\n".join(lines[opening + 1 : closing]) + "\n"
    first_line = opening + 2
    root = _compose(body, first_line)
    if root is not None and not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise ConfigError(
            f"the front matter must be `key: value` lines, got {kind}; for example:\n\n{MINIMAL_EXAMPLE}",
            line=root.start_mark.line + first_line,
        )
    return FrontMatter(root=root, first_line=first_line)


def _compose(body: str, first_line: int) -> Node | None:
    try:
        return yaml.compose(body, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "it is not valid YAML"
        detail = f"; {error.context}" if error.context and error.problem else ""
        line = None if mark is None else mark.line + first_line
        raise ConfigError(f"the front matter is not valid YAML: {problem}{detail}", line=line) from error
    except yaml.reader.ReaderError as error:
        line = body[: error.position].count("\n") + first_line
        code = error.character if isinstance(error.character, int) else ord(error.character)
        raise ConfigError(
            f"the front matter contains a character YAML does not allow (U+{code:04X})", line=line
        ) from error
    except yaml.YAMLError as error:
        raise ConfigError(f"the front matter is not valid YAML: {error}") from error
