"""SearchImageSets: filters (see search_filters), sort, pages, and the summaries' DICOM tags.

Pages are keyset pages: `nextToken` names the sort value and id of the last image set returned,
and the next page starts after it. An image set updated between two pages moves (updatedAt, the
default sort) but is neither returned twice nor makes another one skipped, which offset pages did:
a patient-level correction that searches by PatientID and updates page by page relies on that.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from local.healthimaging.errors import ValidationException
from local.healthimaging.pagination import DEFAULT_PAGE_SIZE
from local.healthimaging.records import ImageSet
from local.healthimaging.search_filters import SortValue, level_dicom, predicate, series_uids, sort_value
from local.healthimaging.state import EmulatorState

DEFAULT_SORT = {"sortField": "updatedAt", "sortOrder": "DESC"}  # "By default ... updatedAt ... descending"
SortKey = tuple[SortValue, str]


def _key(image_set: ImageSet, field: str) -> SortKey:
    return (sort_value(image_set, field), image_set.image_set_id)


def _encode_token(field: str, order: str, last: SortKey) -> str:
    text = json.dumps({"field": field, "order": order, "after": list(last)})
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode_token(token: str, field: str, order: str) -> SortKey:
    try:
        cursor = json.loads(base64.urlsafe_b64decode(token.encode()))
        value, image_set_id = cursor["after"]
        same_query = (cursor["field"], cursor["order"]) == (field, order)
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise ValidationException("Invalid nextToken") from error
    if not same_query:
        raise ValidationException("nextToken belongs to a search with another sort")
    return (value, str(image_set_id))


def _study_counts(image_sets: Iterable[ImageSet]) -> dict[str, tuple[int, int]]:
    """Study UID -> (series, instances) over the study's primary image sets."""
    series: dict[str, set[str]] = {}
    instances: dict[str, set[str]] = {}
    for image_set in image_sets:
        uid = image_set.study_instance_uid
        if uid is None or image_set.deleted_at is not None or not image_set.is_primary:
            continue
        for series_uid, node in image_set.latest.document["Study"]["Series"].items():
            series.setdefault(uid, set()).add(series_uid)
            instances.setdefault(uid, set()).update(node.get("Instances", {}))
    return {uid: (len(series[uid]), len(instances.get(uid, set()))) for uid in series}


def _series_number(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _summary(image_set: ImageSet, counts: dict[str, tuple[int, int]]) -> dict[str, Any]:
    patient, study = level_dicom(image_set, "Patient"), level_dicom(image_set, "Study")
    uids = series_uids(image_set)
    series = image_set.latest.document["Study"]["Series"][uids[0]].get("DICOM", {}) if uids else {}
    own_instances = sum(
        len(node.get("Instances", {})) for node in image_set.latest.document["Study"]["Series"].values()
    )
    study_series, study_instances = counts.get(image_set.study_instance_uid or "", (len(uids), own_instances))
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
        "DICOMSeriesInstanceUID": uids[0] if uids else None,
        "DICOMSeriesModality": series.get("Modality"),
        "DICOMSeriesBodyPart": series.get("BodyPartExamined"),
    }
    numbers = {
        "DICOMNumberOfStudyRelatedSeries": study_series,
        "DICOMNumberOfStudyRelatedInstances": study_instances,
        "DICOMSeriesNumber": _series_number(series.get("SeriesNumber")),
    }
    return {
        "imageSetId": image_set.image_set_id,
        "version": int(image_set.latest.version_id),
        "createdAt": image_set.created_at,
        "updatedAt": image_set.latest.updated_at,
        "isPrimary": image_set.is_primary,
        "storageTier": "FREQUENT_ACCESS",
        "DICOMTags": {
            **{k: v for k, v in tags.items() if isinstance(v, str)},
            **{k: v for k, v in numbers.items() if v is not None},
        },
    }


def search_image_sets(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    datastore = state.datastore(params["datastoreId"])
    criteria = params.get("searchCriteria") or {}
    predicates = [predicate(c) for c in criteria.get("filters", [])]
    live = [s for s in datastore.image_sets.values() if s.deleted_at is None]
    matches = [s for s in live if all(p(s) for p in predicates)]
    sort = criteria.get("sort") or DEFAULT_SORT
    field, order = sort["sortField"], sort["sortOrder"]
    descending = order == "DESC"
    matches.sort(key=lambda s: _key(s, field), reverse=descending)
    token = params.get("nextToken")
    if token:
        after = _decode_token(token, field, order)
        matches = [s for s in matches if (_key(s, field) < after if descending else _key(s, field) > after)]
    size = params.get("maxResults") or DEFAULT_PAGE_SIZE
    page, more = matches[:size], len(matches) > size
    counts = _study_counts(live)
    result: dict[str, Any] = {"imageSetsMetadataSummaries": [_summary(s, counts) for s in page]}
    if criteria.get("sort"):
        result["sort"] = criteria["sort"]
    if more:
        result["nextToken"] = _encode_token(field, order, _key(page[-1], field))
    return result
