"""Resource names and amounts, in the units Kubernetes uses, as exact integers.

Every amount the scheduler adds or compares is an ``int``: CPU in millicores (``"500m"`` = 500,
``4`` = 4000), memory in bytes (``"15Gi"``), devices (``nvidia.com/gpu``, ``nvidia.com/mig-1g.10gb``,
``nvidia.com/gpu.shared``) in units. Text is parsed with Kubernetes' quantity syntax so an admin can
paste figures from node objects; ``16GB`` (the Hub's tables) is refused with the spelling to use.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CPU = "cpu"
MEMORY = "memory"
WHOLE_GPU = "nvidia.com/gpu"
SHARED_GPU = "nvidia.com/gpu.shared"
MIG_PREFIX = "nvidia.com/mig-"
MIG_PROFILE = re.compile(r"^[1-9][0-9]*g\.[0-9]+gb(\+me)?$")
"""A MIG profile as the device plugin names it: ``1g.10gb``, ``3g.71gb``, ``1g.10gb+me``."""

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)\s*$")
GIB = 2**30
MIB = 2**20


class QuantityError(ValueError):
    """Text that is not a quantity; the message says what to write instead."""


def _decimal(text: str | int | float, what: str) -> Decimal:
    if isinstance(text, bool):
        raise QuantityError(f"{what} must be a quantity, not {text!r}")
    if isinstance(text, int | float):
        try:
            return Decimal(str(text))
        except InvalidOperation as exc:  # pragma: no cover - str(float) always parses
            raise QuantityError(f"{what}: {text!r} is not a number") from exc
    match = _QUANTITY.match(text)
    if not match:
        raise QuantityError(f"{what}: {text!r} is not a quantity (examples: 4, 500m, 15Gi, 1.5G)")
    number, suffix = match.groups()
    if suffix not in _SUFFIXES:
        hint = ""
        if len(suffix) == 2 and suffix[1] in "bB" and suffix[0].upper() in "KMGTP":
            letter = suffix[0].upper()
            decimal = "k" if letter == "K" else letter
            hint = (
                f"; write {number}{letter}i (binary, as the Hub's tables mean) or {number}{decimal} (decimal)"
            )
        raise QuantityError(f"{what}: unknown unit {suffix!r} in {text!r}{hint}")
    return Decimal(number) * _SUFFIXES[suffix]


def parse_cpu(text: str | int | float, what: str = "cpu") -> int:
    """CPU in millicores: ``4`` -> 4000, ``"500m"`` -> 500, ``"1.5"`` -> 1500."""
    millis = _decimal(text, what) * 1000
    if millis != millis.to_integral_value():
        raise QuantityError(f"{what}: {text!r} is finer than a millicore")
    return int(millis)


def parse_bytes(text: str | int | float, what: str = "memory") -> int:
    """Memory in bytes: ``"15Gi"``, ``"512Mi"``, ``"1G"``; plain numbers are bytes."""
    value = _decimal(text, what)
    if value != value.to_integral_value():
        raise QuantityError(f"{what}: {text!r} is not a whole number of bytes")
    return int(value)


def parse_count(text: str | int | float, what: str) -> int:
    """A device count: a whole number (``"2"``, ``2``); device plugins advertise no fractions."""
    value = _decimal(text, what)
    if value != value.to_integral_value():
        raise QuantityError(f"{what}: {text!r} is not a whole number of devices")
    return int(value)


def parse_amount(resource: str, text: str | int | float, what: str) -> int:
    """An amount of ``resource`` in its integer unit (millicores, bytes or devices)."""
    if resource == CPU:
        return parse_cpu(text, what)
    if resource == MEMORY:
        return parse_bytes(text, what)
    return parse_count(text, what)


def is_gpu_resource(resource: str) -> bool:
    return resource in (WHOLE_GPU, SHARED_GPU) or resource.startswith(MIG_PREFIX)


def mig_profile(resource: str) -> str | None:
    """``nvidia.com/mig-1g.10gb`` -> ``1g.10gb``; ``None`` for other resources."""
    if not resource.startswith(MIG_PREFIX):
        return None
    return resource[len(MIG_PREFIX) :]


def format_amount(resource: str, amount: int) -> str:
    """An amount for people: ``4 vCPU``, ``15Gi``, ``1.5 vCPU``, ``2``."""
    if resource == CPU:
        return f"{amount / 1000:g} vCPU"
    if resource == MEMORY:
        for unit, size in (("Ti", 2**40), ("Gi", GIB), ("Mi", MIB), ("Ki", 2**10)):
            if amount >= size:
                return f"{amount / size:.4g}{unit}"
        return f"{amount}B"
    return str(amount)
