from __future__ import annotations

from typing import Any

import pytest

from updater.imports.transforms import Transform, apply_transforms


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-31", "20240131"),
        ("2024/01/31", "20240131"),
        ("2024.01.31", "20240131"),  # ACR-NEMA style
        (" 2024-1-5 ", "20240105"),
        ("20240131", "20240131"),  # already DA
        ("2024-02-30", "2024-02-30"),  # not a date: left for a person to look at
        ("31/01/2024", "31/01/2024"),  # day-first is ambiguous: left alone
        ("", ""),
    ],
)
def test_dicom_date(value: str, expected: str) -> None:
    assert apply_transforms(value, [Transform.DICOM_DATE]) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("08:35:01", "083501"),
        ("08:35", "0835"),
        ("08:35:01.123", "083501.123"),
        ("25:00", "25:00"),
        ("083501", "083501"),
    ],
)
def test_dicom_time(value: str, expected: str) -> None:
    assert apply_transforms(value, [Transform.DICOM_TIME]) == expected


def test_person_names_are_trimmed_and_upper_cased_per_component() -> None:
    value = " doe ^ jane^ ^dr =ドウ^ジェーン"

    assert (
        apply_transforms(value, [Transform.TRIM, Transform.UPPER], person_name=True)
        == "DOE^JANE^^DR=ドウ^ジェーン"
    )


def test_other_strings_are_trimmed_as_a_whole() -> None:
    assert apply_transforms("  CT ^ ROOM = 1  ", [Transform.TRIM]) == "CT ^ ROOM = 1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(["2024-01-31", "bad", None], ["20240131", "bad", None]), (None, None), (42, 42), (1.5, 1.5)],
)
def test_multi_valued_and_non_text_values(value: Any, expected: Any) -> None:
    assert apply_transforms(value, [Transform.DICOM_DATE]) == expected
