"""Hostile attribute documents: their skeleton, their keys, their values, and what the lane finds
against the image set's metadata. Each builder gets a fresh marker and returns the body and the
code the contract promises for it."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from tests.integration.hostile.corpus import Target, patient, study, update

UNKNOWN_SERIES = "1.2.840.99999.1"
MISSING_IMAGE_SET_ID = "f" * 32
Body = Callable[[str], tuple[str, str]]


def document_bodies(t: Target) -> dict[str, Body]:
    def doc(document: Any, key: str = "updatableAttributes") -> str:
        return json.dumps(update(t, "hostile-doc", None) | {"DICOMUpdates": {key: document}})

    series = {"SchemaVersion": 1.1, "Study": {"Series": {}}}
    return {
        "document_array_text": lambda m: (doc(json.dumps([m])), "DOCUMENT_NOT_OBJECT"),
        "document_broken_text": lambda m: (doc("{" + m), "DOCUMENT_INVALID_JSON"),
        # Parsing fails before validation: an invalid requestId there is reported by fingerprint too.
        "document_broken_base64": lambda m: (
            doc(base64.b64encode(("{" + m).encode()).decode()).replace('"hostile-doc"', f'"{m} b64"'),
            "DOCUMENT_INVALID_JSON",
        ),
        "schema_version_missing": lambda m: (
            doc({"Patient": {"DICOM": {"PatientName": m}}}),
            "SCHEMA_VERSION_MISSING",
        ),
        "schema_version_by_marker": lambda m: (doc({"SchemaVersion": m}), "SCHEMA_VERSION_UNSUPPORTED"),
        "top_level_key_by_marker": lambda m: (doc({"SchemaVersion": 1.1, m: {}}), "UNKNOWN_TOP_LEVEL_KEY"),
        "level_key_by_marker": lambda m: (
            doc({"SchemaVersion": 1.1, "Patient": {m: {}}}),
            "UNKNOWN_DOCUMENT_KEY",
        ),
        "level_as_text": lambda m: (doc({"SchemaVersion": 1.1, "Patient": m}), "UNKNOWN_DOCUMENT_KEY"),
        "dicom_as_text": lambda m: (
            doc({"SchemaVersion": 1.1, "Patient": {"DICOM": m}}),
            "UNKNOWN_DOCUMENT_KEY",
        ),
        "series_key_by_marker": lambda m: (
            doc(series | {"Study": {"Series": {m: {"DICOM": {}}}}}),
            "INVALID_UID_KEY",
        ),
        "series_key_as_name": lambda m: (
            doc(series | {"Study": {"Series": {f"Doe^John {m}": {"DICOM": {}}}}}),
            "INVALID_UID_KEY",
        ),
        "instance_key_by_marker": lambda m: (
            doc(series | {"Study": {"Series": {t.series_uid: {"Instances": {m: {"DICOM": {}}}}}}}),
            "INVALID_UID_KEY",
        ),
        "keyword_by_marker": lambda m: (doc(patient(**{m: "x"})), "UNKNOWN_KEYWORD"),
        "name_as_keyword": lambda m: (doc(patient(**{f"JohnSmith{m}": "x"})), "UNKNOWN_KEYWORD"),
        "name_and_value_as_keyword": lambda m: (doc(patient(**{f"Smith, John {m}": m})), "UNKNOWN_KEYWORD"),
        "reserved_group_tag": lambda m: (doc(patient(**{"00071001": m})), "MALFORMED_PRIVATE_TAG"),
        "even_group_tag": lambda m: (doc(patient(**{"00101010": m})), "MALFORMED_PRIVATE_TAG"),
        "vr_key_by_marker": lambda m: (
            doc({"SchemaVersion": 1.1, "Patient": {"DICOM": {"00111001": "x"}, "DICOMVRs": {m: "LO"}}}),
            "INVALID_VR",
        ),
        "vr_by_marker": lambda m: (
            doc({"SchemaVersion": 1.1, "Patient": {"DICOM": {"00111001": "x"}, "DICOMVRs": {"00111001": m}}}),
            "INVALID_VR",
        ),
        "wrong_level": lambda m: (doc(study(PatientName=m)), "WRONG_LEVEL"),
        "date_by_marker": lambda m: (doc(patient(PatientBirthDate=m)), "INVALID_VALUE_FOR_VR"),
        "date_in_arabic_digits": lambda m: (
            doc(
                patient(
                    PatientBirthDate="\u0661\u0669\u0667\u0660\u0660\u0661\u0660\u0661", PatientComments=m
                )
            ),
            "INVALID_VALUE_FOR_VR",
        ),
        "name_too_long": lambda m: (doc(patient(PatientName=m * 20)), "INVALID_VALUE_FOR_VR"),
        "control_in_value": lambda m: (doc(study(StudyDescription=m + "\x07")), "INVALID_VALUE_FOR_VR"),
        "generated_attribute": lambda m: (
            doc({"SchemaVersion": 1.1, "ImageSetID": m}),
            "GENERATED_ATTRIBUTE",
        ),
        "identity_without_force": lambda m: (doc(study(StudyInstanceUID=m)), "FORCE_REQUIRED"),
        "several_names": lambda m: (doc(patient(PatientName=[m, m])), "FORCE_REQUIRED"),
        # Found on the lane, against the image set's metadata.
        "series_not_in_image_set": lambda m: (
            doc(series | {"Study": {"Series": {UNKNOWN_SERIES: {"DICOM": {"SeriesDescription": m}}}}}),
            "SERIES_NOT_IN_IMAGE_SET",
        ),
        "instance_not_in_image_set": lambda m: (
            doc(
                series
                | {
                    "Study": {
                        "Series": {t.series_uid: {"Instances": {"1.2.3.4": {"DICOM": {"ImageComments": m}}}}}
                    }
                }
            ),
            "INSTANCE_NOT_IN_IMAGE_SET",
        ),
        "removal_of_another_value": lambda m: (
            doc(patient(PatientName=m), "removableAttributes"),
            "REMOVABLE_VALUE_MISMATCH",
        ),
        "private_tag_without_vr": lambda m: (doc(patient(**{"00111001": m})), "PRIVATE_TAG_VR_MISSING"),
        "image_set_that_does_not_exist": lambda m: (
            json.dumps(
                update(t, "hostile-missing", study(StudyDescription=m)) | {"imageSetId": MISSING_IMAGE_SET_ID}
            ),
            "IMAGE_SET_NOT_FOUND",
        ),
    }
