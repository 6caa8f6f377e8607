"""Metadata documents shaped like GetImageSetMetadata's (SchemaVersion 1.1), for planner tests.

Values follow pydicom's CT_small.dcm sample; ids follow HealthImaging's patterns.
"""

from __future__ import annotations

import copy
from typing import Any

from updater.imports.events import ImportJobCompleted

DATASTORE_ID = "bbc4f3cccbae4095a34170fddc19b13d"
JOB_ID = "a6a1d220f152e7aab6d8925d995d8b76"
IMAGE_SET_ID = "46923b66d5522e4241615ecd64637584"
OTHER_IMAGE_SET_ID = "0123456789abcdef0123456789abcdef"
STUDY_UID = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
SERIES_UID = "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"
SOP_UID = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"
INPUT = "s3://healthimaging-test-bucket/input/site-a/"


def job(input_s3_uri: str = INPUT, job_id: str = JOB_ID) -> ImportJobCompleted:
    return ImportJobCompleted(
        eventId="7cf0fb1c-8720-4d48-baa3-6eb97b35a10e",
        imagingVersion="1.0",
        datastoreId=DATASTORE_ID,
        jobId=job_id,
        jobName="nightly",
        jobStatus="COMPLETED",
        inputS3Uri=input_s3_uri,
        outputS3Uri="s3://healthimaging-test-bucket/output/",
    )


def metadata_document(
    *,
    image_set_id: str = IMAGE_SET_ID,
    patient: dict[str, Any] | None = None,
    study: dict[str, Any] | None = None,
    series: dict[str, Any] | None = None,
    instance: dict[str, Any] | None = None,
    series_uid: str = SERIES_UID,
    sop_uid: str = SOP_UID,
) -> dict[str, Any]:
    """One study, one series, one instance; keyword overrides per level (None removes a default)."""
    levels = {
        "patient": {"PatientName": "CompressedSamples^CT1", "PatientID": "1CT1", "PatientBirthDate": None},
        "study": {"StudyInstanceUID": STUDY_UID, "StudyDate": "20040119", "StudyID": "1CT1"},
        "series": {
            "Modality": "CT",
            "SeriesInstanceUID": series_uid,
            "SeriesNumber": "1 ",
            "StationName": "CT01_OC0",
            "InstitutionName": "JFK IMAGING CENTER",
            "Manufacturer": "GE MEDICAL SYSTEMS",
        },
        "instance": {
            "SOPInstanceUID": sop_uid,
            "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
            "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"],
        },
    }
    overrides = {"patient": patient, "study": study, "series": series, "instance": instance}
    for level, values in overrides.items():
        levels[level].update(values or {})
    return {
        "SchemaVersion": "1.1",
        "DatastoreID": DATASTORE_ID,
        "ImageSetID": image_set_id,
        "Patient": {"DICOM": levels["patient"]},
        "Study": {
            "DICOM": levels["study"],
            "Series": {
                series_uid: {
                    "DICOM": levels["series"],
                    "Instances": {sop_uid: {"DICOM": levels["instance"], "DICOMVRs": {}}},
                }
            },
        },
    }


def applied(document: dict[str, Any], dicom_updates: dict[str, Any]) -> dict[str, Any]:
    """What the service's metadata would be after the update (attribute-level changes only)."""
    result = copy.deepcopy(document)
    for name, merge in (("removableAttributes", False), ("updatableAttributes", True)):
        _walk(result, dicom_updates.get(name, {}), merge)
    return result


def _walk(target: dict[str, Any], change: dict[str, Any], merge: bool) -> None:
    for key, value in change.items():
        if key == "SchemaVersion":
            continue
        if key == "DICOM":
            for keyword, new in value.items():
                if merge:
                    target.setdefault("DICOM", {})[keyword] = new
                else:
                    assert target["DICOM"][keyword] == new, "removal must name the current value"
                    del target["DICOM"][keyword]
        else:
            _walk(target[key], value, merge)
