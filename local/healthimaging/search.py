"""SearchImageSets: EQUAL on the DICOM identifiers, BETWEEN on createdAt/updatedAt, sort, pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from local.healthimaging.errors import ValidationException
from local.healthimaging.pagination import page
from local.healthimaging.records import ImageSet
from local.healthimaging.state import EmulatorState

_DICOM_FILTERS: dict[str, tuple[str, str]] = {
    "DICOMPatientId": ("Patient", "PatientID"),
    "DICOMAccessionNumber": ("Study", "AccessionNumber"),
    "DICOMStudyId": ("Study", "StudyID"),
    "DICOMStudyInstanceUID": ("Study", "StudyInstanceUID"),
}
_TIME_FILTERS = ("createdAt", "updatedAt")


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


def _study_dicom(image_set: ImageSet, level: str) -> dict[str, Any]:
    dicom: dict[str, Any] = image_set.latest.document.get(level, {}).get("DICOM", {})
    return dicom


def _series_uids(image_set: ImageSet) -> list[str]:
    return list(image_set.latest.document.get("Study", {}).get("Series", {}))


def _timestamp(image_set: ImageSet, name: str) -> float:
    return image_set.created_at if name == "createdAt" else image_set.latest.updated_at


def _predicate(criterion: dict[str, Any]) -> Callable[[ImageSet], bool]:
    operator, values = criterion["operator"], criterion["values"]
    name, first = next(iter(values[0].items()))
    if operator == "BETWEEN":
        if name not in _TIME_FILTERS or len(values) != 2 or name not in values[1]:
            raise ValidationException("BETWEEN takes two createdAt or updatedAt values")
        low, high = _epoch(first), _epoch(values[1][name])
        return lambda s: low <= _timestamp(s, name) <= high
    if len(values) != 1:
        raise ValidationException("EQUAL takes exactly one value")
    if name in _DICOM_FILTERS:
        level, keyword = _DICOM_FILTERS[name]
        return lambda s: _study_dicom(s, level).get(keyword) == first
    if name == "DICOMSeriesInstanceUID":
        return lambda s: first in _series_uids(s)
    if name in _TIME_FILTERS:
        return lambda s: _timestamp(s, name) == _epoch(first)
    if name == "isPrimary":
        return lambda s: s.is_primary == first
    raise ValidationException(f"Filtering on {name} is not supported by the emulator")


def _summary(image_set: ImageSet) -> dict[str, Any]:
    patient, study = _study_dicom(image_set, "Patient"), _study_dicom(image_set, "Study")
    tags = {
        "DICOMPatientId": patient.get("PatientID"),
        "DICOMPatientName": patient.get("PatientName"),
        "DICOMPatientBirthDate": patient.get("PatientBirthDate"),
        "DICOMPatientSex": patient.get("PatientSex"),
        "DICOMStudyInstanceUID": study.get("StudyInstanceUID"),
        "DICOMStudyId": study.get("StudyID"),
        "DICOMStudyDescription": study.get("StudyDescription"),
        "DICOMAccessionNumber": study.get("AccessionNumber"),
        "DICOMStudyDate": study.get("StudyDate"),
        "DICOMStudyTime": study.get("StudyTime"),
    }
    series_uids = _series_uids(image_set)
    if series_uids:
        tags["DICOMSeriesInstanceUID"] = series_uids[0]
    return {
        "imageSetId": image_set.image_set_id,
        "version": int(image_set.latest.version_id),
        "createdAt": image_set.created_at,
        "updatedAt": image_set.latest.updated_at,
        "isPrimary": image_set.is_primary,
        "DICOMTags": {k: v for k, v in tags.items() if isinstance(v, str)},
    }


def search_image_sets(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    datastore = state.datastore(params["datastoreId"])
    criteria = params.get("searchCriteria") or {}
    predicates = [_predicate(c) for c in criteria.get("filters", [])]
    matches = [
        s for s in datastore.image_sets.values() if s.deleted_at is None and all(p(s) for p in predicates)
    ]
    sort = criteria.get("sort") or {"sortField": "updatedAt", "sortOrder": "DESC"}
    field = "createdAt" if sort["sortField"] == "createdAt" else "updatedAt"
    matches.sort(key=lambda s: _timestamp(s, field), reverse=sort["sortOrder"] == "DESC")
    items, token = page(matches, params.get("maxResults"), params.get("nextToken"))
    result: dict[str, Any] = {"imageSetsMetadataSummaries": [_summary(s) for s in items]}
    if criteria.get("sort"):
        result["sort"] = criteria["sort"]
    if token:
        result["nextToken"] = token
    return result
