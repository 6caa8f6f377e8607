"""The model constraints botocore's client does not check: patterns, maximum lengths and sizes, enums.

The real service checks them server side (`latestVersion=abc` or a 31000-byte blob reach it), so
the emulator does too. Java-only regex classes in the model are translated for Python's `re`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

_JAVA_CLASSES = {r"\p{ASCII}": r"\x00-\x7F"}


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    translated = pattern
    for java, python in _JAVA_CLASSES.items():
        translated = translated.replace(java, f"[{python}]")
    try:
        return re.compile(translated)
    except re.error:
        return None


def constraint_violations(value: Any, shape: Shape, name: str) -> list[str]:
    if value is None:
        return []
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        return [
            v
            for member, member_shape in shape.members.items()
            for v in constraint_violations(value.get(member), member_shape, f"{name}.{member}")
        ]
    if isinstance(shape, ListShape):
        return _size_violations(len(value), shape, name) + [
            v
            for i, item in enumerate(value)
            for v in constraint_violations(item, shape.member, f"{name}[{i}]")
        ]
    if isinstance(shape, MapShape):
        return [
            v for k, item in value.items() for v in constraint_violations(item, shape.value, f"{name}.{k}")
        ]
    if kind == "string":
        return _string_violations(value, shape, name)
    if kind == "blob" and isinstance(value, bytes | str):
        return _size_violations(len(value), shape, name)
    if kind in ("integer", "long") and isinstance(value, int):
        return _range_violations(value, shape, name)
    if kind == "timestamp" and not isinstance(value, dt.datetime | int | float):
        return [f"Invalid timestamp for {name}"]
    return []


def _string_violations(value: str, shape: Shape, name: str) -> list[str]:
    violations = _size_violations(len(value), shape, name)
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        violations.append(f"Value at '{name}' failed to satisfy constraint: member must be one of {enum}")
    pattern = shape.metadata.get("pattern")
    compiled = _compiled(pattern) if pattern else None
    # Emulator extension: imports may read from and write to a local directory.
    local_directory = shape.name == "S3Uri" and value.startswith("file://")
    if compiled is not None and not local_directory and compiled.fullmatch(value) is None:
        violations.append(
            f"Value at '{name}' failed to satisfy constraint: member must match pattern {pattern}"
        )
    return violations


def _size_violations(size: int, shape: Shape, name: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if (low is not None and size < low) or (high is not None and size > high):
        return [f"Value at '{name}' failed to satisfy constraint: length must be between {low} and {high}"]
    return []


def _range_violations(number: int, shape: Shape, name: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        return [f"Value at '{name}' failed to satisfy constraint: must be between {low} and {high}"]
    return []
