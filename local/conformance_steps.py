"""The conformance probe's scenario: the same calls against the emulator or a real account.

Each step returns what it observed as a short, stable text (an outcome such as `UPDATED`, or an
error code), never metadata values. The probe imports pydicom's CT_small.dcm with fresh Study,
Series and SOP Instance UIDs, so it only ever touches the image sets it creates, and deletes them.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

OVERSIZE_COMMENT = "x" * 11_000  # above the 10 KB UpdateImageSetMetadata payload quota
BURST_CALLS = 120


@dataclass
class Target:
    """Where the scenario runs: a medical-imaging client, its data store, and how to import a file."""

    client: Any
    burst_client: Any  # retries off: a throttle must reach the probe, not be absorbed by the SDK
    datastore_id: str
    import_sample: Callable[[], str]  # imports a re-identified sample, returns its image set id
    settle_timeout_s: float = 300.0
    poll_interval_s: float = 0.2
    created: list[str] = field(default_factory=list)


@dataclass
class ScenarioState:
    primary: str = ""
    copy: str = ""
    series_uid: str = ""
    instance_uid: str = ""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "?"))


def image_set(target: Target, image_set_id: str) -> dict[str, Any]:
    result: dict[str, Any] = target.client.get_image_set(
        datastoreId=target.datastore_id, imageSetId=image_set_id
    )
    return result


def settled(target: Target, image_set_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + target.settle_timeout_s
    while True:
        shown = image_set(target, image_set_id)
        if shown["imageSetState"] != "LOCKED" or time.monotonic() > deadline:
            return shown
        time.sleep(target.poll_interval_s)


def latest(target: Target, image_set_id: str) -> str:
    return str(settled(target, image_set_id)["versionId"])


def document(**levels: Any) -> bytes:
    return json.dumps({"SchemaVersion": 1.1, **levels}).encode()


def send_update(
    target: Target, image_set_id: str, updates: dict[str, Any], *, version: str | None = None, **flags: Any
) -> dict[str, Any]:
    response: dict[str, Any] = target.client.update_image_set_metadata(
        datastoreId=target.datastore_id,
        imageSetId=image_set_id,
        latestVersionId=version or latest(target, image_set_id),
        updateImageSetMetadataUpdates=updates,
        **flags,
    )
    return response


def outcome(target: Target, image_set_id: str, updates: dict[str, Any], **flags: Any) -> str:
    """`UPDATED` / `UPDATE_FAILED` once settled, or the error code of a refused call."""
    try:
        send_update(target, image_set_id, updates, **flags)
    except ClientError as error:
        return error_code(error)
    return str(settled(target, image_set_id).get("imageSetWorkflowStatus"))


def updatable(**levels: Any) -> dict[str, Any]:
    return {"DICOMUpdates": {"updatableAttributes": document(**levels)}}


def step_import(target: Target, state: ScenarioState) -> str:
    state.primary = target.import_sample()
    target.created.append(state.primary)
    blob = target.client.get_image_set_metadata(datastoreId=target.datastore_id, imageSetId=state.primary)
    metadata = json.loads(gzip.decompress(blob["imageSetMetadataBlob"].read()))
    [(state.series_uid, series)] = metadata["Study"]["Series"].items()
    state.instance_uid = next(iter(series["Instances"]))
    shown = settled(target, state.primary)
    return f"isPrimary={shown.get('isPrimary')} version={shown['versionId']}"


def step_study_update(target: Target, state: ScenarioState) -> str:
    return outcome(target, state.primary, updatable(Study={"DICOM": {"StudyDescription": "PROBE"}}))


def step_stale_version(target: Target, state: ScenarioState) -> str:
    try:
        send_update(target, state.primary, {"revertToVersionId": "1"}, version="1")
    except ClientError as error:
        return error_code(error)
    settled(target, state.primary)
    return "accepted"


def step_locked_write(target: Target, state: ScenarioState) -> str:
    first = send_update(target, state.primary, updatable(Study={"DICOM": {"StudyDescription": "PROBE2"}}))
    try:
        send_update(target, state.primary, {"revertToVersionId": "1"}, version=str(first["latestVersionId"]))
    except ClientError as error:
        settled(target, state.primary)
        return error_code(error)
    settled(target, state.primary)
    return "accepted (the first update had settled already)"


def step_forced_uid_change(target: Target, state: ScenarioState) -> str:
    node = {"DICOM": {"SOPInstanceUID": f"{state.instance_uid}.9"}}
    change = updatable(Study={"Series": {state.series_uid: {"Instances": {state.instance_uid: node}}}})
    result = outcome(target, state.primary, change, force=True)
    if result == "UPDATED":
        state.instance_uid = f"{state.instance_uid}.9"
    return result


def step_patient_update_primary(target: Target, state: ScenarioState) -> str:
    return outcome(target, state.primary, updatable(Patient={"DICOM": {"PatientName": "PROBE^PRIMARY"}}))


def step_copy_to_non_primary(target: Target, state: ScenarioState) -> str:
    version = latest(target, state.primary)
    try:
        copied = target.client.copy_image_set(
            datastoreId=target.datastore_id,
            sourceImageSetId=state.primary,
            copyImageSetInformation={"sourceImageSet": {"latestVersionId": version}},
        )
    except ClientError as error:
        return error_code(error)
    state.copy = copied["destinationImageSetProperties"]["imageSetId"]
    target.created.append(state.copy)
    source_status = copied["sourceImageSetProperties"].get("imageSetWorkflowStatus")
    shown = settled(target, state.copy)
    settled(target, state.primary)
    return f"{shown.get('imageSetWorkflowStatus')} isPrimary={shown.get('isPrimary')} source={source_status}"


def step_patient_update_non_primary(target: Target, state: ScenarioState) -> str:
    if not state.copy:
        return "no copy"
    return outcome(target, state.copy, updatable(Patient={"DICOM": {"PatientName": "PROBE^COPY"}}))


def step_study_wide_update(target: Target, state: ScenarioState) -> str:
    if not state.copy:
        return "no copy"
    copy_version = latest(target, state.copy)
    result = outcome(
        target,
        state.primary,
        updatable(Study={"DICOM": {"StudyDescription": "PROBE-STUDY"}}),
        includeStudyImageSets=True,
    )
    copy_reached = latest(target, state.copy) != copy_version
    return f"{result} non-primary {'updated' if copy_reached else 'unchanged'}"


def step_revert(target: Target, state: ScenarioState) -> str:
    return outcome(target, state.primary, {"revertToVersionId": "2"})


def step_oversize_payload(target: Target, state: ScenarioState) -> str:
    return outcome(target, state.primary, updatable(Patient={"DICOM": {"PatientComments": OVERSIZE_COMMENT}}))


def step_throttling(target: Target, state: ScenarioState) -> str:
    """GetImageSet in a burst from 8 threads; the first throttle's shape, if any."""
    seen: list[str] = []
    lock = threading.Lock()

    def calls() -> None:
        for _ in range(BURST_CALLS // 8):
            try:
                target.burst_client.get_image_set(datastoreId=target.datastore_id, imageSetId=state.primary)
            except ClientError as error:
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                with lock:
                    seen.append(f"{error_code(error)} {status}")

    threads = [threading.Thread(target=calls) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen[0] if seen else f"no throttle in {BURST_CALLS} calls"


def step_cleanup(target: Target, state: ScenarioState) -> str:
    results = []
    for image_set_id in reversed(target.created):
        try:
            settled(target, image_set_id)
            target.client.delete_image_set(datastoreId=target.datastore_id, imageSetId=image_set_id)
            results.append(str(settled(target, image_set_id)["imageSetState"]))
        except ClientError as error:
            results.append(error_code(error))
    return ",".join(results) or "nothing to delete"


Step = Callable[[Target, ScenarioState], str]
STEPS: list[tuple[str, Step]] = [
    ("import a pydicom sample", step_import),
    ("Study-level update", step_study_update),
    ("stale latestVersion", step_stale_version),
    ("write to a LOCKED image set", step_locked_write),
    ("forced SOPInstanceUID change (primary)", step_forced_uid_change),
    ("Patient-level update (primary)", step_patient_update_primary),
    ("CopyImageSet (non-primary copy)", step_copy_to_non_primary),
    ("Patient-level update (non-primary)", step_patient_update_non_primary),
    ("study-wide update (includeStudyImageSets)", step_study_wide_update),
    ("revert to version 2", step_revert),
    ("payload over 10 KB", step_oversize_payload),
    ("burst of GetImageSet (throttling shape)", step_throttling),
    ("delete the probe's image sets", step_cleanup),
]
