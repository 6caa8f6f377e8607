"""Value normalizations a rule can ask for, as pure functions of a metadata value.

A value in the HealthImaging metadata document is a string, a number, `null` (empty) or a list
(multi-valued). Each transform returns the value unchanged when it does not apply (not a string, or
not in a form it recognizes): a rule never invents data it cannot read.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

# PN: component groups (alphabetic/ideographic/phonetic) split by "=", components by "^".
_GROUP_SEPARATOR = "="
_COMPONENT_SEPARATOR = "^"
_DATE_FORMS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d")
_TIME_FORM = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?$")


class Transform(enum.StrEnum):
    TRIM = "trim"  # strip spaces around the value (around each component of a PN value)
    UPPER = "upper"  # upper-case the value (each component of a PN value)
    DICOM_DATE = "dicom-date"  # 2024-01-31, 2024/01/31, 2024.01.31 -> 20240131 (DA)
    DICOM_TIME = "dicom-time"  # 08:35:01 -> 083501 (TM)


def apply_transforms(value: Any, transforms: list[Transform], *, person_name: bool = False) -> Any:
    """Apply `transforms` in order; for a PN value, trim and upper work on each name component."""
    for transform in transforms:
        function = _TRANSFORMS[transform]
        if person_name and transform in _PER_COMPONENT:
            function = _by_component(function)
        value = _per_element(function, value)
    return value


def _per_element(function: Callable[[str], str], value: Any) -> Any:
    if isinstance(value, str):
        return function(value)
    if isinstance(value, list):
        return [function(item) if isinstance(item, str) else item for item in value]
    return value


def _by_component(function: Callable[[str], str]) -> Callable[[str], str]:
    def each_component(value: str) -> str:
        return _GROUP_SEPARATOR.join(
            _COMPONENT_SEPARATOR.join(function(part) for part in group.split(_COMPONENT_SEPARATOR))
            for group in value.split(_GROUP_SEPARATOR)
        )

    return each_component


def dicom_date(value: str) -> str:
    text = value.strip()
    for form in _DATE_FORMS:
        try:
            return datetime.strptime(text, form).strftime("%Y%m%d")
        except ValueError:
            continue
    return value


def dicom_time(value: str) -> str:
    match = _TIME_FORM.match(value.strip())
    if match is None:
        return value
    hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or (seconds is not None and int(seconds) > 60):
        return value
    return f"{hours}{minutes}{seconds or ''}{fraction or ''}"


_PER_COMPONENT = frozenset({Transform.TRIM, Transform.UPPER})
_TRANSFORMS: dict[Transform, Callable[[str], str]] = {
    Transform.TRIM: str.strip,
    Transform.UPPER: str.upper,
    Transform.DICOM_DATE: dicom_date,
    Transform.DICOM_TIME: dicom_time,
}
