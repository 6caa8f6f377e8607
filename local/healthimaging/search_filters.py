"""SearchImageSets' filters and sort keys over one image set's latest metadata.

EQUAL works on every member of `SearchByAttributeValue`; BETWEEN on `createdAt`, `updatedAt` and
`DICOMStudyDateAndTime` ("All date range queries must be input as (lowerBound, upperBound)", API
reference). A study date and time compares as (StudyDate, StudyTime padded to HHMMSS.FFFFFF); a
bound without a time covers its whole day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from local.healthimaging.errors import ValidationException
from local.healthimaging.records import ImageSet

Predicate = Callable[[ImageSet], bool]
SortValue = float | str

_DICOM_EQUAL: dict[str, tuple[str, str]] = {
    "DICOMPatientId": ("Patient", "PatientID"),
    "DICOMAccessionNumber": ("Study", "AccessionNumber"),
    "DICOMStudyId": ("Study", "StudyID"),
    "DICOMStudyInstanceUID": ("Study", "StudyInstanceUID"),
}
_RANGE_FIELDS = ("createdAt", "updatedAt", "DICOMStudyDateAndTime")
_DAY_START, _DAY_END = "000000.000000", "235959.999999"


def level_dicom(image_set: ImageSet, level: str) -> dict[str, Any]:
    dicom: dict[str, Any] = image_set.latest.document.get(level, {}).get("DICOM", {})
    return dicom


def series_uids(image_set: ImageSet) -> list[str]:
    return list(image_set.latest.document.get("Study", {}).get("Series", {}))


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


def _padded_time(time: Any, default: str) -> str:
    if not isinstance(time, str) or not time.strip():
        return default
    whole, _, fraction = time.strip().partition(".")
    return f"{whole.ljust(6, '0')[:6]}.{fraction.ljust(6, '0')[:6]}"


def study_date_time(image_set: ImageSet) -> str:
    """`YYYYMMDD HHMMSS.FFFFFF` of the study, comparable as text; empty when there is no StudyDate."""
    study = level_dicom(image_set, "Study")
    date = study.get("StudyDate")
    if not isinstance(date, str) or not date.strip():
        return ""
    return f"{date.strip()} {_padded_time(study.get('StudyTime'), _DAY_START)}"


def _bound(value: dict[str, Any], default_time: str) -> str:
    return f"{value['DICOMStudyDate'].strip()} {_padded_time(value.get('DICOMStudyTime'), default_time)}"


def sort_value(image_set: ImageSet, field: str) -> SortValue:
    if field == "createdAt":
        return image_set.created_at
    if field == "updatedAt":
        return image_set.latest.updated_at
    return study_date_time(image_set)


def predicate(criterion: dict[str, Any]) -> Predicate:
    operator, values = criterion["operator"], criterion["values"]
    name, first = next(iter(values[0].items()))
    if operator == "BETWEEN":
        return _between(name, values)
    if len(values) != 1:
        raise ValidationException("EQUAL takes exactly one value")
    return _equal(name, first)


def _between(name: str, values: list[dict[str, Any]]) -> Predicate:
    if name not in _RANGE_FIELDS or len(values) != 2 or name not in values[1]:
        raise ValidationException(f"BETWEEN takes two values of one of {', '.join(_RANGE_FIELDS)}")
    if name == "DICOMStudyDateAndTime":
        low, high = _bound(values[0][name], _DAY_START), _bound(values[1][name], _DAY_END)
        return lambda s: bool(study_date_time(s)) and low <= study_date_time(s) <= high
    earliest, latest = _epoch(values[0][name]), _epoch(values[1][name])
    return lambda s: earliest <= float(sort_value(s, name)) <= latest


def _equal(name: str, value: Any) -> Predicate:
    if name in _DICOM_EQUAL:
        level, keyword = _DICOM_EQUAL[name]
        return lambda s: level_dicom(s, level).get(keyword) == value
    if name == "DICOMSeriesInstanceUID":
        return lambda s: value in series_uids(s)
    if name in ("createdAt", "updatedAt"):
        return lambda s: float(sort_value(s, name)) == _epoch(value)
    if name == "DICOMStudyDateAndTime":
        return _same_study_date_and_time(value)
    if name == "isPrimary":
        return lambda s: s.is_primary == value
    raise ValidationException(f"Filtering on {name} is not supported")


def _same_study_date_and_time(value: dict[str, Any]) -> Predicate:
    date = value["DICOMStudyDate"].strip()
    if not value.get("DICOMStudyTime"):
        return lambda s: study_date_time(s).split(" ")[0] == date
    wanted = _bound(value, _DAY_START)
    return lambda s: study_date_time(s) == wanted
