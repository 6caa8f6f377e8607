"""Is a JSON value compatible with a DICOM VR? (PS3.5 §6.2, the subset updates commonly touch.)

An incompatible value is one of the constraints `force` overrides. The emulator reports it
asynchronously (UPDATE_FAILED), because the service can only judge values once it processes them.
"""

from __future__ import annotations

import re
from typing import Any

_MAX_LENGTH = {
    "AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64, "LT": 10240,
    "PN": 324, "SH": 16, "ST": 1024, "TM": 14, "UC": None, "UI": 64, "UR": None, "UT": None,
}  # fmt: skip

_FORMAT = {
    "AS": re.compile(r"\d{3}[DWMY]"),
    "CS": re.compile(r"[A-Z0-9_ ]*"),
    "DA": re.compile(r"\d{8}"),
    "DS": re.compile(r" *[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)? *"),
    "IS": re.compile(r" *[+-]?\d+ *"),
    "TM": re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?"),
    "UI": re.compile(r"[0-9.]*"),
}

_INTEGER_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "AT"})
_FLOAT_VRS = frozenset({"FL", "FD"})


def is_compatible(vr: str, value: Any) -> bool:
    """A single value or a list of values; None (an empty element) fits every VR."""
    if isinstance(value, list):
        return all(is_compatible(vr, item) for item in value)
    if value is None:
        return True
    if vr == "SQ":
        return isinstance(value, dict)
    if vr in _INTEGER_VRS:
        return isinstance(value, int) and not isinstance(value, bool)
    if vr in _FLOAT_VRS:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if vr in _MAX_LENGTH:
        return _is_compatible_string(vr, value)
    # Binary VRs (OB, OW, UN, …) carry no value in the metadata document.
    return False


def _is_compatible_string(vr: str, value: Any) -> bool:
    if vr in ("DS", "IS") and isinstance(value, int | float) and not isinstance(value, bool):
        return True
    if not isinstance(value, str):
        return False
    max_length = _MAX_LENGTH[vr]
    if max_length is not None and len(value) > max_length:
        return False
    pattern = _FORMAT.get(vr)
    return pattern is None or value == "" or pattern.fullmatch(value) is not None
