"""Durations as Space authors write them: ``30m``, ``1h``, ``90s``, ``1h30m`` or plain seconds.

Owns turning one such value into seconds. It raises ``ValueError`` with a short reason; the caller
adds the key and line.
"""

from __future__ import annotations

import re

_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
_WHOLE = re.compile(r"(?:\s*\d+(?:\.\d+)?\s*[dhms])+\s*")
_NUMBER = re.compile(r"\s*\d+(?:\.\d+)?\s*")

EXAMPLES = "30m, 1h, 90s, 1h30m or a number of seconds"


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``value``; a bare number is seconds. Zero and negative durations are refused."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like {EXAMPLES}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower()
        if _NUMBER.fullmatch(text):
            seconds = float(text)
        elif _WHOLE.fullmatch(text):
            seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(text))
        else:
            raise ValueError(f"expected a duration like {EXAMPLES}, got {value!r}")
    if seconds <= 0:
        raise ValueError(f"must be longer than zero, got {value!r}")
    return seconds
