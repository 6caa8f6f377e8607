"""Patient-level corrections on the local stack: the demo's step and the end-to-end tests' scenario.

A patient is seeded as three image sets in two studies (pydicom's CT_small.dcm twice, as two
series of one study, and MR_small.dcm as a second study), all re-identified to one PatientID and
IssuerOfPatientID, then corrected the way hospitals send corrections: one selector request, an
HL7 v2 ADT message (`contentType` = `application/hl7-v2`), a merge.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any, TextIO

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from local.scenario import outcome_events, send_requests
from local.stack import LocalStack

HL7_SAMPLES = Path(__file__).resolve().parent.parent / "events" / "hl7"
SAMPLE_PATIENT_ID = "2178309"  # what the events/hl7 samples name
SAMPLE_NEW_PATIENT_ID = "4455667"
ISSUER = "GOODHEALTH"


def seed_patient(stack: LocalStack, patient_id: str, issuer: str = ISSUER) -> list[str]:
    """Three image sets of one patient in two studies; returns their ids."""
    study_a, study_b = generate_uid(), generate_uid()
    image_sets: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        samples = (("CT_small.dcm", study_a), ("CT_small.dcm", study_a), ("MR_small.dcm", study_b))
        for index, (sample, study) in enumerate(samples):
            dataset = dcmread(str(get_testdata_file(sample)))
            dataset.PatientID, dataset.IssuerOfPatientID = patient_id, issuer
            dataset.PatientName = "SEEDED^PATIENT"
            dataset.StudyInstanceUID = study
            dataset.SeriesInstanceUID, dataset.SOPInstanceUID = generate_uid(), generate_uid()
            dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
            path = Path(folder) / f"{index}-{sample}"
            dataset.save_as(path)
            ids = stack.emulator.service.import_dicom_files(stack.datastore_id, [str(path)], reidentify=False)
            image_sets.extend(ids)
    return image_sets


def patient_correction(stack: LocalStack, request_id: str, patient_id: str, **dicom: Any) -> dict[str, Any]:
    return {
        "datastoreId": stack.datastore_id,
        "requestId": request_id,
        "selector": {"patient": {"PatientID": patient_id, "IssuerOfPatientID": ISSUER}},
        "DICOMUpdates": {"updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": dicom}}},
    }


def hl7_message(name: str, *, control_id: str, patient_id: str, new_patient_id: str = "") -> str:
    """A sample ADT message from events/hl7 with its control id and patient ids replaced."""
    text = (HL7_SAMPLES / name).read_text()
    text = text.replace("|ADT-A08-0001|", f"|{control_id}|").replace("|ADT-A40-0001|", f"|{control_id}|")
    text = text.replace("|ADT-A31-0001|", f"|{control_id}|").replace("|ADT-A01-0001|", f"|{control_id}|")
    if new_patient_id:
        text = text.replace(f"PID|1||{SAMPLE_NEW_PATIENT_ID}^", f"PID|1||{new_patient_id}^")
    return text.replace(f"{SAMPLE_PATIENT_ID}^^^", f"{patient_id}^^^")


def send_hl7(stack: LocalStack, text: str) -> None:
    assert stack.topology is not None
    stack.aws.sqs.send_message(
        QueueUrl=stack.topology.queue("ingest").url,
        MessageBody=text,
        MessageAttributes={"contentType": {"DataType": "String", "StringValue": "application/hl7-v2"}},
    )


def batch_outcome(events: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    batches = [e["detail"] for e in events if e["detail-type"].startswith("ImageSetMetadataUpdate.Batch")]
    return [detail for detail in batches if detail["requestId"] == request_id]


def correct_one_patient(stack: LocalStack, out: TextIO) -> bool:
    """The demo's patient-level correction: one request, one corrected PatientName on three image
    sets in two studies, one aggregate outcome; prints one line, True when it went as expected."""
    patient_id = f"DEMO-{uuid.uuid4().hex[:8].upper()}"
    image_sets = seed_patient(stack, patient_id)
    outcome_events(stack)  # start from an empty capture queue
    request = patient_correction(stack, "demo-patient-correction", patient_id, PatientName="DOE^JANE^Q")
    send_requests(stack, [request])
    stack.run_until_idle(120)
    found = batch_outcome(outcome_events(stack), "demo-patient-correction")
    versions = [len(stack.emulator.service.version_history(stack.datastore_id, i)) for i in image_sets]
    ok = len(found) == 1 and found[0]["status"] == "SUCCEEDED" and versions == [2, 2, 2]
    detail = found[0] if found else {}
    out.write(
        f"patient-level correction     {'ok  ' if ok else 'FAIL'} demo-patient-correction: "
        f"{detail.get('status', 'no outcome')}, {detail.get('succeeded', 0)}/{len(image_sets)} image sets "
        f"in 2 studies, one new version each\n"
    )
    return ok
