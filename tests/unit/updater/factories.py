"""Builders for the requests and metadata documents the updater unit tests talk about."""

from __future__ import annotations

from typing import Any

from updater.domain.request import UpdateRequest, parse_update_request

DATASTORE_ID = "12345678901234567890123456789012"
IMAGE_SET_ID = "ea92b0d8838c72a3f25d00d13616f87e"
SERIES_UID = "1.2.840.113619.2.30.1.1762295590.1623.978668949.887"
SOP_UID = "1.2.840.113619.2.30.1.1762295590.1623.978668949.888"
OTHER_SOP_UID = "1.2.840.113619.2.30.1.1762295590.1623.978668949.889"


def patient_doc(**dicom: Any) -> dict[str, Any]:
    return {"SchemaVersion": 1.1, "Patient": {"DICOM": dicom}}


def study_doc(**dicom: Any) -> dict[str, Any]:
    return {"SchemaVersion": 1.1, "Study": {"DICOM": dicom}}


def series_doc(series_body: dict[str, Any], series_uid: str = SERIES_UID) -> dict[str, Any]:
    return {"SchemaVersion": 1.1, "Study": {"Series": {series_uid: series_body}}}


def instance_doc(
    instance_body: dict[str, Any], series_uid: str = SERIES_UID, sop_uid: str = SOP_UID
) -> dict[str, Any]:
    return series_doc({"Instances": {sop_uid: instance_body}}, series_uid)


def update_request(updatable: Any = None, removable: Any = None, **fields: Any) -> UpdateRequest:
    documents = {}
    if updatable is not None:
        documents["updatableAttributes"] = updatable
    if removable is not None:
        documents["removableAttributes"] = removable
    body: dict[str, Any] = {"datastoreId": DATASTORE_ID, "imageSetId": IMAGE_SET_ID, **fields}
    if documents:
        body["DICOMUpdates"] = documents
    return parse_update_request(body)


def metadata_document() -> dict[str, Any]:
    """A current metadata document as GetImageSetMetadata returns it (decompressed), after the AWS sample."""
    return {
        "SchemaVersion": "1.1",
        "DatastoreID": DATASTORE_ID,
        "ImageSetID": IMAGE_SET_ID,
        "Patient": {
            "DICOM": {
                "PatientBirthDate": None,
                "PatientSex": "M",
                "PatientID": "2178309",
                "PatientName": "MISTER^CT",
            }
        },
        "Study": {
            "DICOM": {
                "StudyInstanceUID": "1.3.6.1.4.1.5962.1.2.0.977067309.6001.0",
                "StudyDate": "20000101",
                "StudyDescription": "CHEST",
                "StudyID": None,
            },
            "Series": {
                SERIES_UID: {
                    "DICOM": {"Modality": "CT", "SeriesInstanceUID": SERIES_UID, "SeriesNumber": "1 "},
                    "Instances": {
                        SOP_UID: {
                            "DICOM": {
                                "SOPInstanceUID": SOP_UID,
                                "ImageType": ["DERIVED", "PRIMARY", "AXIAL"],
                                "00091001": "GE_GENESIS_DD",
                            },
                            "DICOMVRs": {"00091001": "LO"},
                            "StoredTransferSyntaxUID": "1.2.840.10008.1.2.4.202",
                            "ImageFrames": [{"ID": "0d1c97c51b773198a3df44383a5fd306"}],
                        },
                        OTHER_SOP_UID: {"DICOM": {"SOPInstanceUID": OTHER_SOP_UID}, "DICOMVRs": {}},
                    },
                }
            },
        },
    }
