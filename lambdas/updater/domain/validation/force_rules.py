"""HealthImaging's DICOM metadata constraints ("DICOM metadata constraints" in the developer guide).

Two tiers: attributes HealthImaging generates are never updatable; a second group is updatable only with
``force=true``. PixelData appears in both lists of the documentation; the API reference's ``force`` list
names it explicitly, so here it needs force rather than being refused outright.
"""

from __future__ import annotations

from typing import Any

from updater.domain.validation.dicom_dictionary import DictionaryEntry as KeywordInfo
from updater.domain.validation.levels import Level

GENERATED_ATTRIBUTES = frozenset(
    {
        "SchemaVersion", "DatastoreID", "ImageSetID", "Checksum", "Width", "Height", "MinPixelValue",
        "MaxPixelValue", "FrameSizeInBytes",
    }
)  # fmt: skip
FORCE_ONLY_KEYWORDS = frozenset(
    {"PixelData", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "StudyID"}
)


def is_generated(key: str) -> bool:
    return key in GENERATED_ATTRIBUTES


def standard_force_reason(info: KeywordInfo, value: Any) -> str | None:
    """Why changing this standard attribute needs force, or None when it does not."""
    if info.keyword in FORCE_ONLY_KEYWORDS:
        return "is an identity attribute that can change only with force"
    if info.retired:
        return "is a retired keyword and can change only with force"
    if "SQ" in info.vr.split(" or "):
        return "is a sequence (SQ) and can change only with force"
    if isinstance(value, list):
        if info.vm == "1":
            return "has VM 1 but is given several values, allowed only with force"
        return "is multi-valued and can change only with force"
    return None


def private_force_reason(level: Level, value: Any) -> str | None:
    """Why changing this private tag needs force, or None when it does not."""
    if level is Level.INSTANCE:
        return "is a private tag of an individual instance and can change only with force"
    if isinstance(value, list):
        return "is multi-valued and can change only with force"
    return None
