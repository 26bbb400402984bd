"""Reading resource inputs as the engine hands them over, without ever raising.

Null inputs are dropped (`previousStep: null` arrives as a missing key); numbers arrive as floats.
Values unknown during a preview raise `UnknownValueError` when read: `get` returns `UNKNOWN` for
them instead, so the rules skip what they cannot know yet and judge it again when `pulumi up` runs
them with the values known.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)


class _Absent:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Absent("MISSING")
"""The key is not there (the engine drops null inputs, so null reads as missing)."""
UNKNOWN: Any = _Absent("UNKNOWN")
"""The value is computed and not known yet (preview)."""

_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


def get(value: Any, *path: str | int) -> Any:
    """The value at `path`, or MISSING / UNKNOWN (never raises)."""
    for key in path:
        if value is MISSING or value is UNKNOWN:
            return value
        try:
            value = value[key]
        except UnknownValueError:
            return UNKNOWN
        except (KeyError, IndexError, TypeError):
            return MISSING
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


def keys(value: Any) -> list[str]:
    """The keys of a mapping input (empty for anything else)."""
    return [str(k) for k in value] if isinstance(value, Mapping) else []


def items(value: Any) -> Iterator[tuple[str, Any]]:
    """Key and value of a mapping input; unknown values come as UNKNOWN."""
    for key in keys(value):
        yield key, get(value, key)


def is_any(sentinel: Any, *values: Any) -> bool:
    """Whether any of `values` is `sentinel` (MISSING or UNKNOWN)."""
    return any(v is sentinel for v in values)


def as_int(value: Any) -> int | None:
    """An integer input (numbers arrive as floats, Kafka configs as strings); None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def as_bool(value: Any) -> bool | None:
    """A boolean input (or "true"/"false"); None if it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def string_leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every known string inside an input, with its path."""
    if isinstance(value, str):
        if value not in _UNKNOWN_SENTINELS:
            yield path, value
    elif isinstance(value, Mapping):
        for key, child in items(value):
            yield from string_leaves(child, (*path, key))
    elif isinstance(value, Sequence):
        for i in range(len(value)):
            yield from string_leaves(get(value, i), (*path, i))
