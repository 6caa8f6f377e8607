"""Structure of attribute documents: SchemaVersion, top-level keys, level keys, UID keys, DICOMVRs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.updater.factories import SERIES_UID, SOP_UID, instance_doc, series_doc, update_request
from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.validation import validate_request


def failures_for(updatable: Any = None, removable: Any = None, **fields: Any) -> list[ValidationFailure]:
    return list(validate_request(update_request(updatable, removable, **fields)))


def codes_for(updatable: Any = None, removable: Any = None, **fields: Any) -> list[FailureCode]:
    return [failure.code for failure in failures_for(updatable, removable, **fields)]


@pytest.mark.parametrize("version", [1.1, "1.1"])
def test_schema_version_as_number_or_string_is_accepted(version: object) -> None:
    assert codes_for({"SchemaVersion": version, "Patient": {"DICOM": {"PatientSex": "F"}}}) == []


def test_missing_schema_version_is_reported_per_document() -> None:
    failures = failures_for({"Patient": {"DICOM": {}}}, {"Study": {"DICOM": {}}})
    assert [(f.code, f.field) for f in failures] == [
        (FailureCode.SCHEMA_VERSION_MISSING, "DICOMUpdates.updatableAttributes.SchemaVersion"),
        (FailureCode.SCHEMA_VERSION_MISSING, "DICOMUpdates.removableAttributes.SchemaVersion"),
    ]


@pytest.mark.parametrize("version", [1.0, "1.0", 2, None, "1.10", True])
def test_other_schema_versions_are_unsupported(version: object) -> None:
    assert codes_for({"SchemaVersion": version}) == [FailureCode.SCHEMA_VERSION_UNSUPPORTED]


def test_top_level_keys_other_than_patient_and_study_are_refused() -> None:
    failures = failures_for({"SchemaVersion": 1.1, "Series": {}, "Instances": {}})
    assert [f.code for f in failures] == [FailureCode.UNKNOWN_TOP_LEVEL_KEY] * 2
    assert failures[0].field == "DICOMUpdates.updatableAttributes.Series"


@pytest.mark.parametrize("key", ["DatastoreID", "ImageSetID"])
def test_generated_top_level_keys_are_refused_as_generated(key: str) -> None:
    assert codes_for({"SchemaVersion": 1.1, key: "x" * 32}) == [FailureCode.GENERATED_ATTRIBUTE]


def test_unknown_key_inside_a_level_is_refused() -> None:
    failures = failures_for({"SchemaVersion": 1.1, "Patient": {"DICOM": {}, "Series": {}}})
    assert [(f.code, f.field) for f in failures] == [
        (FailureCode.UNKNOWN_DOCUMENT_KEY, "DICOMUpdates.updatableAttributes.Patient.Series")
    ]


@pytest.mark.parametrize("key", ["ImageFrames", "StoredTransferSyntaxUID", "ChecksumType"])
def test_generated_instance_members_are_refused(key: str) -> None:
    assert codes_for(instance_doc({key: []}), force=True) == [FailureCode.GENERATED_ATTRIBUTE]


@pytest.mark.parametrize(
    "document",
    [
        {"SchemaVersion": 1.1, "Patient": "text"},
        {"SchemaVersion": 1.1, "Patient": {"DICOM": ["PatientName"]}},
        {"SchemaVersion": 1.1, "Study": {"Series": []}},
        series_doc({"Instances": "none"}),
        instance_doc({"DICOMVRs": ["DS"]}),
    ],
    ids=[
        "level-not-object",
        "dicom-not-object",
        "series-not-object",
        "instances-not-object",
        "vrs-not-object",
    ],
)
def test_level_and_map_members_must_be_objects(document: dict[str, Any]) -> None:
    assert codes_for(document, force=True) == [FailureCode.UNKNOWN_DOCUMENT_KEY]


@pytest.mark.parametrize("key", ["series-1", "1.02.3", "", "1..2", "1.2." + "3" * 70])
def test_series_keys_must_be_uids(key: str) -> None:
    assert codes_for(series_doc({"DICOM": {"SeriesDescription": "AXIAL"}}, key)) == [
        FailureCode.INVALID_UID_KEY
    ]


def test_instance_keys_must_be_uids() -> None:
    document = instance_doc({"DICOM": {"ImageComments": "ok"}}, sop_uid="not-a-uid")
    assert codes_for(document) == [FailureCode.INVALID_UID_KEY]


def test_valid_series_and_instance_keys_are_accepted() -> None:
    assert codes_for(instance_doc({"DICOM": {"ImageComments": "ok"}}, SERIES_UID, SOP_UID)) == []


def test_empty_series_and_instance_objects_in_removable_mean_remove_and_are_allowed() -> None:
    removable = {
        "SchemaVersion": 1.1,
        "Study": {"Series": {SERIES_UID: {"Instances": {SOP_UID: {}}}, "1.2.3": {}}},
    }
    assert codes_for(removable=removable) == []


def test_dicomvrs_values_must_be_value_representations() -> None:
    document = instance_doc({"DICOM": {"00091001": "97"}, "DICOMVRs": {"00091001": "XX"}})
    assert codes_for(document, force=True) == [FailureCode.INVALID_VR]


def test_dicomvrs_keys_must_be_private_tags() -> None:
    document = instance_doc({"DICOM": {"ImageComments": "x"}, "DICOMVRs": {"ImageComments": "LT"}})
    assert codes_for(document, force=True) == [FailureCode.INVALID_VR]


def test_dicomvrs_with_a_valid_private_tag_and_vr_is_accepted() -> None:
    document = instance_doc({"DICOM": {"001910F9": "97"}, "DICOMVRs": {"001910F9": "DS"}})
    assert codes_for(document, force=True) == []
