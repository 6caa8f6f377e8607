from __future__ import annotations

import pytest
from pydicom.datadict import keyword_dict

from updater.domain.validation.levels import (
    PATIENT_KEYWORDS,
    SERIES_KEYWORDS,
    STUDY_KEYWORDS,
    Level,
    level_of,
)


@pytest.mark.parametrize(
    "keywords", [PATIENT_KEYWORDS, STUDY_KEYWORDS, SERIES_KEYWORDS], ids=["P", "St", "Se"]
)
def test_every_listed_keyword_is_in_the_dicom_dictionary(keywords: frozenset[str]) -> None:
    assert sorted(k for k in keywords if k not in keyword_dict) == []


def test_levels_do_not_overlap() -> None:
    assert not PATIENT_KEYWORDS & STUDY_KEYWORDS
    assert not STUDY_KEYWORDS & SERIES_KEYWORDS
    assert not PATIENT_KEYWORDS & SERIES_KEYWORDS


@pytest.mark.parametrize(
    ("keyword", "level"),
    [
        ("PatientName", Level.PATIENT),
        ("PatientBirthDate", Level.PATIENT),
        ("PatientAge", Level.STUDY),  # Patient Study module, not Patient module
        ("PatientWeight", Level.STUDY),
        ("StudyInstanceUID", Level.STUDY),
        ("AccessionNumber", Level.STUDY),
        ("Modality", Level.SERIES),
        ("Manufacturer", Level.SERIES),  # General Equipment module
        ("FrameOfReferenceUID", Level.SERIES),
        ("SOPInstanceUID", Level.INSTANCE),
        ("SOPClassUID", Level.INSTANCE),
        ("Rows", Level.INSTANCE),
        ("ImageType", Level.INSTANCE),
    ],
)
def test_level_of_follows_healthimaging_normalization(keyword: str, level: Level) -> None:
    assert level_of(keyword) is level
