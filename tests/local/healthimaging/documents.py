"""Small metadata documents for seeding image sets without DICOM files."""

from __future__ import annotations

import json
from typing import Any

STUDY_UID = "1.2.826.0.1.3680043.8.498.1"
SERIES_UID = "1.2.826.0.1.3680043.8.498.1.1"
INSTANCE_UIDS = ("1.2.826.0.1.3680043.8.498.1.1.1", "1.2.826.0.1.3680043.8.498.1.1.2")


def metadata_document(
    study_uid: str = STUDY_UID, series_uid: str = SERIES_UID, instance_uids: tuple[str, ...] = INSTANCE_UIDS
) -> dict[str, Any]:
    return {
        "SchemaVersion": "1.1",
        "Patient": {"DICOM": {"PatientName": "DOE^JANE", "PatientID": "P-1", "PatientSex": "F"}},
        "Study": {
            "DICOM": {
                "StudyInstanceUID": study_uid,
                "StudyDescription": "CHEST",
                "AccessionNumber": "A-1",
                "StudyID": "S1",
                "StudyDate": "20240101",
            },
            "Series": {
                series_uid: {
                    "DICOM": {"SeriesInstanceUID": series_uid, "Modality": "CT", "SeriesNumber": "1"},
                    "Instances": {
                        uid: {
                            "DICOM": {
                                "SOPInstanceUID": uid,
                                "InstanceNumber": "1",
                                "00091001": "GE_GENESIS_FF",
                            },
                            "DICOMVRs": {"00091001": "LO"},
                        }
                        for uid in instance_uids
                    },
                }
            },
        },
    }


def update_blob(**levels: Any) -> bytes:
    """`update_blob(Patient={"DICOM": {...}})` -> the JSON bytes of an update document."""
    return json.dumps({"SchemaVersion": 1.1, **levels}).encode()


def instance_level(series_uid: str, instance_uid: str, node: dict[str, Any]) -> dict[str, Any]:
    return {"Series": {series_uid: {"Instances": {instance_uid: node}}}}
