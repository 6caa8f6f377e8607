"""StartDICOMImportJob, GetDICOMImportJob, ListDICOMImportJobs and the importer behind them.

A job runs on a background thread: SUBMITTED when the call returns, then IN_PROGRESS, then
COMPLETED (even when some files failed; the manifests say which) or FAILED when the input
cannot be read at all. Every series becomes its own image set, as the service does; a series
that already has an image set gets a new, non-primary one (imports never deduplicate).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError

from local.healthimaging.dicom_import import (
    ParsedInstance,
    build_document,
    group_by_series,
    missing_required_attribute,
)
from local.healthimaging.events import resource_event
from local.healthimaging.image_set_lifecycle import add_active_image_set
from local.healthimaging.import_locations import (
    InputFile,
    LocationError,
    job_output_uri,
    read_input_files,
    write_output,
)
from local.healthimaging.import_manifests import ImportResult, manifest_files
from local.healthimaging.messages import model_message
from local.healthimaging.pagination import page
from local.healthimaging.records import Datastore, ImageSet, ImportJob, new_resource_id
from local.healthimaging.state import EmulatorState

_STATUS_EVENT = {
    "SUBMITTED": "Import Job Submitted",
    "IN_PROGRESS": "Import Job In Progress",
    "COMPLETED": "Import Job Completed",
    "FAILED": "Import Job Failed",
}


def parse_instances(files: list[InputFile], result: ImportResult) -> list[ParsedInstance]:
    parsed = []
    for input_file in files:
        try:
            dataset = pydicom.dcmread(io.BytesIO(input_file.data))
        except (InvalidDicomError, EOFError, ValueError, OSError):
            result.fail(input_file.name, "ValidationException", "File is not a DICOM P10 file")
            continue
        missing = missing_required_attribute(dataset)
        if missing is not None:
            result.fail(input_file.name, "ValidationException", f"DICOM attribute {missing} does not exist")
            continue
        parsed.append(ParsedInstance(input_file.name, dataset))
    return parsed


def import_instances(
    state: EmulatorState, datastore: Datastore, instances: list[ParsedInstance]
) -> list[tuple[ImageSet, list[ParsedInstance]]]:
    """Create one ACTIVE image set per series (caller holds the state lock)."""
    created = []
    for key, members in group_by_series(instances).items():
        duplicate = any(
            s.deleted_at is None
            and s.study_instance_uid == key.study_instance_uid
            and key.series_instance_uid in s.latest.document["Study"]["Series"]
            for s in datastore.image_sets.values()
        )
        image_set = add_active_image_set(state, datastore, {}, is_primary=not duplicate)
        document = build_document(datastore.datastore_id, image_set.image_set_id, members)
        image_set.latest.document = document
        created.append((image_set, members))
    return created


class ImportJobRunner:
    def __init__(self, state: EmulatorState, s3_client: Any | None, flush_events: Callable[[], None]) -> None:
        self._state = state
        self._s3_client = s3_client
        self._flush_events = flush_events

    def start(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._state
        datastore = state.datastore(params["datastoreId"])
        job = ImportJob(
            job_id=new_resource_id(),
            job_name=params.get("jobName") or "import",
            datastore_id=datastore.datastore_id,
            status="SUBMITTED",
            submitted_at=state.clock.now(),
            input_s3_uri=params["inputS3Uri"],
            output_s3_uri=params["outputS3Uri"],
            data_access_role_arn=params["dataAccessRoleArn"],
        )
        state.import_jobs[job.job_id] = job
        self._transition(job, "SUBMITTED")
        threading.Thread(target=self._run, args=(job,), name=f"import-{job.job_id}", daemon=True).start()
        return {
            "datastoreId": job.datastore_id,
            "jobId": job.job_id,
            "jobStatus": job.status,
            "submittedAt": job.submitted_at,
        }

    def _transition(self, job: ImportJob, status: str, message: str | None = None) -> None:
        job.status = status
        job.message = model_message(message) if message else None
        if status in ("COMPLETED", "FAILED"):
            job.ended_at = self._state.clock.now()
        detail = {
            "datastoreId": job.datastore_id,
            "jobId": job.job_id,
            "jobName": job.job_name,
            "jobStatus": status,
            "inputS3Uri": job.input_s3_uri,
            "outputS3Uri": job.output_s3_uri,
        }
        arn = self._state.datastore_arn(job.datastore_id)
        self._state.outbox.add(resource_event(_STATUS_EVENT[status], arn, detail, self._state.clock.now()))

    def _run(self, job: ImportJob) -> None:
        with self._state.lock:
            self._transition(job, "IN_PROGRESS")
        self._flush_events()
        try:
            result = self._import(job)
            output_uri = job_output_uri(job.output_s3_uri, job.datastore_id, job.job_id)
            for relative_path, text in manifest_files(result, job, output_uri).items():
                write_output(output_uri, relative_path, text, self._s3_client)
            with self._state.lock:
                self._transition(job, "COMPLETED")
        except LocationError as error:
            with self._state.lock:
                self._transition(job, "FAILED", str(error))
        finally:
            self._flush_events()

    def _import(self, job: ImportJob) -> ImportResult:
        files = read_input_files(job.input_s3_uri, self._s3_client)
        result = ImportResult(scanned=len(files))
        instances = parse_instances(files, result)
        with self._state.lock:
            datastore = self._state.datastore(job.datastore_id)
            for image_set, members in import_instances(self._state, datastore, instances):
                result.add_image_set(image_set, [m.input_file for m in members])
        return result


def _job_properties(job: ImportJob, output_uri: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "jobId": job.job_id,
        "jobName": job.job_name,
        "jobStatus": job.status,
        "datastoreId": job.datastore_id,
        "dataAccessRoleArn": job.data_access_role_arn,
        "submittedAt": job.submitted_at,
        "inputS3Uri": job.input_s3_uri,
        "outputS3Uri": output_uri,
    }
    if job.ended_at is not None:
        properties["endedAt"] = job.ended_at
    if job.message:
        properties["message"] = job.message
    return properties


def get_dicom_import_job(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    job = state.import_job(params["datastoreId"], params["jobId"])
    output_uri = job_output_uri(job.output_s3_uri, job.datastore_id, job.job_id)
    return {"jobProperties": _job_properties(job, output_uri)}


def list_dicom_import_jobs(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    state.datastore(params["datastoreId"])
    wanted = params.get("jobStatus")
    jobs = [
        j
        for j in state.import_jobs.values()
        if j.datastore_id == params["datastoreId"] and (wanted is None or j.status == wanted)
    ]
    jobs.sort(key=lambda j: j.submitted_at, reverse=True)
    items, token = page(jobs, params.get("maxResults"), params.get("nextToken"))
    summaries = []
    for job in items:
        properties = _job_properties(job, "")
        summaries.append({k: v for k, v in properties.items() if k not in ("inputS3Uri", "outputS3Uri")})
    return {"jobSummaries": summaries, **({"nextToken": token} if token else {})}
