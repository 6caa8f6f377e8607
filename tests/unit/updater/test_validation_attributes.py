"""Per-attribute rules: keywords, private tags, levels, generated attributes, force tier, VR values."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.updater.factories import instance_doc, patient_doc, series_doc, study_doc, update_request
from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.redaction import withheld
from updater.domain.validation import validate_request


def failures_for(updatable: Any = None, removable: Any = None, **fields: Any) -> list[ValidationFailure]:
    return list(validate_request(update_request(updatable, removable, **fields)))


def codes_for(updatable: Any = None, removable: Any = None, **fields: Any) -> list[FailureCode]:
    return [failure.code for failure in failures_for(updatable, removable, **fields)]


def test_seed_example_updates_are_valid() -> None:
    assert codes_for(patient_doc(PatientName="MX^MX")) == []
    assert codes_for(removable=study_doc(StudyDescription="CHEST")) == []


def test_unknown_keyword_is_refused_even_with_force() -> None:
    failures = failures_for(patient_doc(PatientNickname="MX"), force=True)
    # Not a DICOM keyword, so the key could be anything the caller typed: shown by fingerprint.
    shown = withheld("PatientNickname")
    assert [(f.code, f.field) for f in failures] == [
        (FailureCode.UNKNOWN_KEYWORD, f"DICOMUpdates.updatableAttributes.Patient.DICOM.{shown}")
    ]


def test_keywords_are_case_sensitive() -> None:
    assert codes_for(patient_doc(patientname="MX^MX")) == [FailureCode.UNKNOWN_KEYWORD]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (study_doc(PatientName="MX^MX"), "Study.DICOM.PatientName"),
        (patient_doc(StudyDescription="CHEST"), "Patient.DICOM.StudyDescription"),
        (patient_doc(PatientAge="045Y"), "Patient.DICOM.PatientAge"),
        (study_doc(Modality="CT"), "Study.DICOM.Modality"),
        (series_doc({"DICOM": {"ImageComments": "x"}}), "ImageComments"),
        (instance_doc({"DICOM": {"SeriesDescription": "AXIAL"}}), "SeriesDescription"),
        (instance_doc({"DICOM": {"PatientName": "MX^MX"}}), "PatientName"),
    ],
    ids=["patient-at-study", "study-at-patient", "patient-age-is-study", "series-at-study",
         "instance-at-series", "series-at-instance", "patient-at-instance"],
)  # fmt: skip
def test_attribute_at_the_wrong_level_is_refused_even_with_force(
    document: dict[str, Any], field: str
) -> None:
    failures = failures_for(document, force=True)
    assert [f.code for f in failures] == [FailureCode.WRONG_LEVEL]
    assert failures[0].field.endswith(field)


def test_attribute_at_the_wrong_level_is_refused_in_removals_too() -> None:
    assert codes_for(removable=study_doc(PatientName="MX^MX")) == [FailureCode.WRONG_LEVEL]


@pytest.mark.parametrize(
    "document",
    [
        patient_doc(PatientName="A^B"),
        study_doc(StudyDate="20240229", AccessionNumber="A1", PatientWeight="70.5"),
        series_doc({"DICOM": {"SeriesDescription": "AXIAL", "Modality": "CT", "SeriesNumber": "3"}}),
        instance_doc({"DICOM": {"ImageComments": "ok", "InstanceNumber": 5}}),
    ],
    ids=["patient", "study", "series", "instance"],
)
def test_attributes_at_their_own_level_are_valid(document: dict[str, Any]) -> None:
    assert codes_for(document) == []


@pytest.mark.parametrize(
    "key", ["SchemaVersion", "DatastoreID", "ImageSetID", "Checksum", "Width", "Height", "MinPixelValue",
            "MaxPixelValue", "FrameSizeInBytes"],
)  # fmt: skip
def test_generated_attributes_are_never_updatable(key: str) -> None:
    assert codes_for(instance_doc({"DICOM": {key: 1}}), force=True) == [FailureCode.GENERATED_ATTRIBUTE]


@pytest.mark.parametrize(
    "document",
    [
        study_doc(StudyInstanceUID="1.2.3"),
        study_doc(StudyID="S1"),
        series_doc({"DICOM": {"SeriesInstanceUID": "1.2.3"}}),
        instance_doc({"DICOM": {"SOPInstanceUID": "1.2.3"}}),
        instance_doc({"DICOM": {"PixelData": None}}),
    ],
    ids=["StudyInstanceUID", "StudyID", "SeriesInstanceUID", "SOPInstanceUID", "PixelData"],
)
def test_identity_attributes_need_force(document: dict[str, Any]) -> None:
    assert codes_for(document) == [FailureCode.FORCE_REQUIRED]
    assert codes_for(document, force=True) == []


def test_sequence_attributes_need_force() -> None:
    document = study_doc(ProcedureCodeSequence=[{"CodeValue": "1", "CodingSchemeDesignator": "L"}])
    assert codes_for(document) == [FailureCode.FORCE_REQUIRED]
    assert codes_for(document, force=True) == []


def test_multi_valued_values_need_force() -> None:
    document = instance_doc({"DICOM": {"ImageType": ["DERIVED", "PRIMARY"]}})
    assert codes_for(document) == [FailureCode.FORCE_REQUIRED]
    assert codes_for(document, force=True) == []


def test_several_values_for_a_single_valued_attribute_say_so() -> None:
    failures = failures_for(patient_doc(PatientSex=["M", "F"]))
    assert failures[0].code is FailureCode.FORCE_REQUIRED
    assert "VM 1" in failures[0].message


def test_retired_keywords_need_force() -> None:
    document = instance_doc({"DICOM": {"ImageDimensions": 2}})  # (0028,0005), retired
    assert codes_for(document) == [FailureCode.FORCE_REQUIRED]
    assert codes_for(document, force=True) == []


def test_values_invalid_for_their_vr_need_force() -> None:
    document = patient_doc(PatientBirthDate="1990-01-01")
    failures = failures_for(document)
    assert [(f.code, f.field) for f in failures] == [
        (FailureCode.INVALID_VALUE_FOR_VR, "DICOMUpdates.updatableAttributes.Patient.DICOM.PatientBirthDate")
    ]
    assert "DA" in failures[0].message
    assert codes_for(document, force=True) == []


def test_removal_values_are_not_checked_against_the_vr() -> None:
    # A removal must repeat whatever is stored, even a value that breaks its VR.
    assert codes_for(removable=patient_doc(PatientBirthDate="1990-01-01")) == []


def test_removing_identity_attributes_needs_force_too() -> None:
    assert codes_for(removable=study_doc(StudyID="S1")) == [FailureCode.FORCE_REQUIRED]


@pytest.mark.parametrize("tag", ["00081001", "00011001", "00071001", "FFFF0001"])
def test_private_tags_in_even_or_reserved_groups_are_malformed_even_with_force(tag: str) -> None:
    assert codes_for(instance_doc({"DICOM": {tag: "x"}}), force=True) == [FailureCode.MALFORMED_PRIVATE_TAG]


@pytest.mark.parametrize("key", ["0009100", "0009100G", "000910011"])
def test_keys_that_are_neither_keywords_nor_8_hex_digits_are_unknown(key: str) -> None:
    assert codes_for(instance_doc({"DICOM": {key: "x"}}), force=True) == [FailureCode.UNKNOWN_KEYWORD]


def test_tag_shaped_keys_with_even_groups_are_malformed_private_tags() -> None:
    failures = failures_for(patient_doc(**{"00100010": "MX^MX"}), force=True)
    assert [f.code for f in failures] == [FailureCode.MALFORMED_PRIVATE_TAG]
    assert "keyword" in failures[0].message


def test_instance_level_private_tags_need_force() -> None:
    document = instance_doc({"DICOM": {"00091001": "GE_GENESIS_DD"}})
    assert codes_for(document) == [FailureCode.FORCE_REQUIRED]
    assert codes_for(document, force=True) == []
    assert codes_for(removable=document) == [FailureCode.FORCE_REQUIRED]


def test_series_level_private_tags_do_not_need_force_but_their_value_must_fit_the_declared_vr() -> None:
    assert codes_for(series_doc({"DICOM": {"00091001": "97"}, "DICOMVRs": {"00091001": "DS"}})) == []
    bad = series_doc({"DICOM": {"00091001": "ninety"}, "DICOMVRs": {"00091001": "DS"}})
    assert codes_for(bad) == [FailureCode.INVALID_VALUE_FOR_VR]


def test_one_failure_per_attribute_and_all_attributes_reported() -> None:
    failures = failures_for(patient_doc(PatientBirthDate="bad", PatientSex="male", PatientName="OK^NAME"))
    assert sorted(f.field.rsplit(".", 1)[-1] for f in failures) == ["PatientBirthDate", "PatientSex"]
