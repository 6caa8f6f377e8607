"""The workloads of issue 16: image sets to create and the update requests to send.

Every request sets attributes to values no other request uses, so the emulator's version history
tells exactly which request each version applied (and whether one was applied twice or never).
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

from bench.settings import MODEL_PAYLOAD_LIMIT_BYTES
from local.healthimaging.service import HealthImagingService

DEFAULT_PAYLOAD_LIMIT_BYTES = 10 * 1024
# Short-text attributes HealthImaging keeps at Patient/Study level (values fit SH's 16 characters).
SMALL_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("Study", "StudyDescription"), ("Study", "AccessionNumber"), ("Study", "Occupation"),
    ("Study", "MedicalAlerts"), ("Study", "Allergies"), ("Study", "AdmissionID"),
    ("Patient", "EthnicGroup"), ("Study", "RequestingService"),
)  # fmt: skip
# Long-text attributes (LT, LT, UT) that together make a ~29 KB document.
LARGE_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("Patient", "PatientComments"), ("Study", "AdditionalPatientHistory"), ("Study", "ReasonForVisit"),
)  # fmt: skip
LARGE_VALUE_CHARS = 9_600  # LT allows 10,240 characters; three of these stay under 30,000 bytes


@dataclass(frozen=True)
class Workload:
    name: str
    requests: int
    image_sets: int
    instances_per_image_set: int = 1
    large_documents: bool = False

    @property
    def payload_limit_bytes(self) -> int:
        # 30 KB documents need the 10 KB payload quota raised (AWS Support); the model allows 30,000.
        return MODEL_PAYLOAD_LIMIT_BYTES if self.large_documents else DEFAULT_PAYLOAD_LIMIT_BYTES


def workloads(profile: str, *, quick: bool) -> list[Workload]:
    """Issue 16's workloads. Under `current`: 250 requests over 50 image sets (`spread`: the quota
    binds) and 250 over 5 (`hammer`: the image sets bind, coalescing pays). Under `legacy` the
    quota is 0.25/s, so 250 requests would take 17 minutes or more: 20 over 20 image sets instead
    (80 s of calls at least). `quick` keeps each to seconds; `single` (one request) is there only
    in quick runs, for the smoke test."""
    if profile == "legacy":
        return [Workload("spread", requests=4 if quick else 20, image_sets=4 if quick else 20)]
    if quick:
        return [
            Workload("single", requests=1, image_sets=1),
            Workload("spread", requests=30, image_sets=10),
            Workload("hammer", requests=30, image_sets=2),
        ]
    return [Workload("spread", requests=250, image_sets=50), Workload("hammer", requests=250, image_sets=5)]


@dataclass(frozen=True)
class PlannedRequest:
    request_id: str
    image_set_id: str
    # (level, keyword, value) set by this request; the values are unique within the run.
    changes: tuple[tuple[str, str, str], ...]

    def body(self, datastore_id: str) -> dict[str, Any]:
        document: dict[str, Any] = {"SchemaVersion": 1.1}
        for level, keyword, value in self.changes:
            document.setdefault(level, {"DICOM": {}})["DICOM"][keyword] = value
        return {
            "datastoreId": datastore_id,
            "imageSetId": self.image_set_id,
            "requestId": self.request_id,
            "DICOMUpdates": {"updatableAttributes": document},
        }


def plan_requests(workload: Workload, image_set_ids: list[str], seed: int) -> list[PlannedRequest]:
    """Requests spread evenly over the image sets, in a seeded random order (as callers send them)."""
    targets = [image_set_ids[i % len(image_set_ids)] for i in range(workload.requests)]
    random.Random(seed).shuffle(targets)
    planned = []
    for index, image_set_id in enumerate(targets):
        tag = f"R{index:05d}"
        if workload.large_documents:
            filler = "X" * (LARGE_VALUE_CHARS - len(tag) - 2)
            changes = tuple(
                (level, kw, f"{tag}{n}{filler}") for n, (level, kw) in enumerate(LARGE_ATTRIBUTES)
            )
        else:
            level, keyword = SMALL_ATTRIBUTES[index % len(SMALL_ATTRIBUTES)]
            changes = ((level, keyword, tag),)
        planned.append(PlannedRequest(f"{workload.name}-{index:05d}", image_set_id, changes))
    return planned


def lean_instance_series(template: dict[str, Any], instances: int) -> dict[str, Any]:
    """`template` with its one series holding `instances` instances of about ten attributes each."""
    document = copy.deepcopy(template)
    series_uid, series = next(iter(document["Study"]["Series"].items()))
    sample = next(iter(series["Instances"].values()))["DICOM"]
    kept = ("SOPClassUID", "ImageType", "InstanceNumber", "ImagePositionPatient", "ImageOrientationPatient",
            "SliceThickness", "Rows", "Columns", "PixelSpacing", "WindowCenter", "WindowWidth")  # fmt: skip
    series["Instances"] = {}
    for number in range(1, instances + 1):
        sop_uid = f"{series_uid}.{number}"
        dicom = {key: sample[key] for key in kept if key in sample}
        dicom |= {"SOPInstanceUID": sop_uid, "InstanceNumber": number}
        series["Instances"][sop_uid] = {"DICOM": dicom}
    return document


def create_image_sets(
    service: HealthImagingService, datastore_id: str, workload: Workload, template: dict[str, Any]
) -> list[str]:
    """Seeds the image sets from a document imported from pydicom's CT_small.dcm."""
    document = template
    if workload.instances_per_image_set > 1:
        document = lean_instance_series(template, workload.instances_per_image_set)
    # Not announced: the stack's import rules would react to `Image Set Created` mid-run.
    return [
        service.seed_image_set(datastore_id, document, announce=False) for _ in range(workload.image_sets)
    ]
