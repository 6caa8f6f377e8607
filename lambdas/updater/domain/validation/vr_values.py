"""Value checks per DICOM value representation (PS3.5 section 6.2), as values appear in the metadata JSON.

Values are strings for the text VRs (IS and DS may also be JSON numbers), numbers for binary numeric VRs,
null for empty, lists for multi-valued attributes. Trailing space padding is insignificant (the metadata
keeps it, e.g. ``"1 "``). Each check returns the rule that was broken, never the value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any

# re.ASCII: `\d` is 0-9 only (not every script's digits); checks use fullmatch, since `$` also
# matches before a trailing newline.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f]")  # control characters other than TAB and ESC
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")  # ST/LT/UT also allow CR, LF, FF
_TM = re.compile(r"^([01]\d|2[0-3])(?:[0-5]\d(?:(?:[0-5]\d|60)(?:\.\d{1,6})?)?)?$", re.ASCII)
_DT = re.compile(
    r"^(?P<y>\d{4})(?:(?P<m>0[1-9]|1[0-2])(?:(?P<d>\d{2})"
    r"(?:([01]\d|2[0-3])(?:[0-5]\d(?:(?:[0-5]\d|60)(?:\.\d{1,6})?)?)?)?)?)?(?:[+-](?:[01]\d|2[0-3])[0-5]\d)?$",
    re.ASCII,
)
_UI = re.compile(r"^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$", re.ASCII)
_CS = re.compile(r"^[A-Z0-9 _]*$", re.ASCII)
_AS = re.compile(r"^\d{3}[DWMY]$", re.ASCII)
_IS = re.compile(r"^ *[+-]?\d+ *$", re.ASCII)
_DS = re.compile(r"^ *[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)? *$", re.ASCII)
_AT = re.compile(r"^[0-9A-Fa-f]{8}$", re.ASCII)

_INTEGER_RANGES = {
    "US": (0, 2**16 - 1),
    "SS": (-(2**15), 2**15 - 1),
    "UL": (0, 2**32 - 1),
    "SL": (-(2**31), 2**31 - 1),
    "UV": (0, 2**64 - 1),
    "SV": (-(2**63), 2**63 - 1),
}
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_MAX_TEXT = 2**32 - 2


def is_valid_uid(text: str) -> bool:
    return len(text) <= 64 and bool(_UI.fullmatch(text))


def _is_calendar_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _check_da(text: str) -> str | None:
    if (
        len(text) == 8
        and text.isascii()
        and text.isdigit()
        and _is_calendar_date(int(text[:4]), int(text[4:6]), int(text[6:]))
    ):
        return None
    return "must be a DA date YYYYMMDD that exists in the calendar"


def _check_tm(text: str) -> str | None:
    return None if _TM.fullmatch(text) else "must be a TM time HH[MM[SS[.FFFFFF]]]"


def _check_dt(text: str) -> str | None:
    match = _DT.fullmatch(text)
    if match and (match["d"] is None or _is_calendar_date(int(match["y"]), int(match["m"]), int(match["d"]))):
        return None
    return "must be a DT date-time YYYY[MM[DD[HH[MM[SS[.FFFFFF]]]]]][+-ZZXX]"


def _check_ui(text: str) -> str | None:
    return None if is_valid_uid(text) else "must be a UI of at most 64 digits and dots without leading zeros"


def _check_pn(text: str) -> str | None:
    groups = text.split("=")
    if len(groups) > 3:
        return "must be a PN with at most 3 component groups"
    if any(len(group) > 64 for group in groups):
        return "must be a PN with at most 64 characters per component group"
    if any(len(group.split("^")) > 5 for group in groups):
        return "must be a PN with at most 5 components per group"
    return _plain_text_problem(text, "PN")


def _check_cs(text: str) -> str | None:
    if len(text) > 16 or not _CS.fullmatch(text):
        return "must be a CS of at most 16 upper-case letters, digits, spaces or underscores"
    return None


def _check_as(text: str) -> str | None:
    return None if _AS.fullmatch(text) else "must be an AS age nnnD, nnnW, nnnM or nnnY"


def _check_is(text: str) -> str | None:
    if len(text) <= 12 and _IS.fullmatch(text) and -(2**31) <= int(text) <= 2**31 - 1:
        return None
    return "must be an IS integer string of at most 12 characters within 32-bit range"


def _check_ds(text: str) -> str | None:
    if len(text) <= 16 and _DS.fullmatch(text):
        return None
    return "must be a DS decimal string of at most 16 characters"


def _check_at(text: str) -> str | None:
    return None if _AT.fullmatch(text) else "must be an AT tag of 8 hexadecimal digits"


def _plain_text_problem(text: str, vr: str) -> str | None:
    if "\\" in text:
        return f"must be a single {vr} value without backslash separators"
    if _CONTROL.search(text):
        return f"must be a {vr} value without control characters"
    return None


def _bounded_text(limit: int, vr: str, *, multiline: bool = False) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        if len(text) > limit:
            return f"must be a {vr} of at most {limit} characters"
        if multiline:
            return f"must be a {vr} value without control characters" if _TEXT_CONTROL.search(text) else None
        return _plain_text_problem(text, vr)

    return check


_STRING_CHECKS: dict[str, Callable[[str], str | None]] = {
    "AE": _bounded_text(16, "AE"),
    "AS": _check_as,
    "AT": _check_at,
    "CS": _check_cs,
    "DA": _check_da,
    "DS": _check_ds,
    "DT": _check_dt,
    "IS": _check_is,
    "LO": _bounded_text(64, "LO"),
    "LT": _bounded_text(10240, "LT", multiline=True),
    "PN": _check_pn,
    "SH": _bounded_text(16, "SH"),
    "ST": _bounded_text(1024, "ST", multiline=True),
    "TM": _check_tm,
    "UC": _bounded_text(_MAX_TEXT, "UC"),
    "UI": _check_ui,
    "UR": _bounded_text(_MAX_TEXT, "UR"),
    "UT": _bounded_text(_MAX_TEXT, "UT", multiline=True),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _single_vr_problem(vr: str, value: Any) -> str | None:
    if vr == "SQ":
        ok = isinstance(value, list) and all(isinstance(item, dict) for item in value)
        return None if ok else "must be an SQ list of item objects"
    if vr in _BINARY_VRS:
        return f"must be null, {vr} values are stored by HealthImaging and cannot be checked"
    if vr in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[vr]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return None if ok else f"must be an integer within the {vr} range"
    if vr in {"FL", "FD"}:
        return None if _is_number(value) else f"must be a finite {vr} number"
    if vr in {"IS", "DS"} and _is_number(value):
        return None if vr == "DS" or isinstance(value, int) else "must be an IS integer"
    check = _STRING_CHECKS.get(vr)
    if check is None:
        return f"has the unsupported VR {vr}"
    if not isinstance(value, str):
        return f"must be a {vr} string"
    text = value.rstrip(" \x00") if vr != "AT" else value
    return check(text) if text else None  # an empty string is an empty value, like null


def vr_value_problem(vr: str, value: Any) -> str | None:
    """The VR rule ``value`` breaks, or None when it fits.

    ``vr`` may be a dictionary choice such as ``"US or SS"``: any alternative that fits is enough.
    null (empty) always fits; a list is checked item by item (multi-valued rules are the caller's concern).
    """
    if value is None:
        return None
    if isinstance(value, list) and vr != "SQ":
        item_problems = (vr_value_problem(vr, item) for item in value)
        return next((problem for problem in item_problems if problem), None)
    alternatives = [part.strip() for part in vr.split(" or ")]
    problems = [_single_vr_problem(alternative, value) for alternative in alternatives]
    return None if any(problem is None for problem in problems) else problems[0]
