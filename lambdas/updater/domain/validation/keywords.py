"""DICOM keys of an attribute document: standard keywords (pydicom's data dictionary) and private tags.

Standard attributes are named by keyword (``PatientName``); private attributes by their 8-hex-digit tag
(``00091001``), whose group number is odd. Groups 0001-0007 and FFFF are reserved by the standard and
cannot carry private data, so tags there are malformed too.
"""

from __future__ import annotations

import re

from updater.domain.validation.dicom_dictionary import DictionaryEntry as KeywordInfo
from updater.domain.validation.dicom_dictionary import entry_for_keyword

TAG_SHAPE = re.compile(r"^[0-9A-Fa-f]{8}$")
_RESERVED_ODD_GROUPS = frozenset({0x0001, 0x0003, 0x0005, 0x0007, 0xFFFF})

VALUE_REPRESENTATIONS = frozenset(
    {
        "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV",
        "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV",
    }
)  # fmt: skip


def lookup_keyword(key: str) -> KeywordInfo | None:
    """Dictionary entry for a standard keyword, or None when the key is not a DICOM keyword."""
    return entry_for_keyword(key)


def is_tag_shaped(key: str) -> bool:
    return bool(TAG_SHAPE.fullmatch(key))


def private_tag_problem(key: str) -> str | None:
    """Why a tag-shaped key is not a usable private tag, or None when it is one."""
    if not is_tag_shaped(key):
        return "must be 8 hexadecimal digits"
    group = int(key[:4], 16)
    if group % 2 == 0:
        return "has an even group number, standard attributes must be given by keyword"
    if group in _RESERVED_ODD_GROUPS:
        return "uses a group reserved by the DICOM standard"
    return None
