"""StartDICOMImportJob, GetDICOMImportJob, ListDICOMImportJobs and the importer behind them.

A job runs on a background thread: SUBMITTED when the call returns, then IN_PROGRESS, then
COMPLETED (even when some files failed; the manifests say which) or FAILED when the input
cannot be read at all. Where the instances land (new image sets, new versions of primary ones,
non-primary image sets for conflicting data) is import_placement's business.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from local.healthimaging.events import resource_event
from local.healthimaging.import_locations import (
    LocationError,
    job_output_uri,
    read_input_files,
    write_output,
)
from local.healthimaging.import_manifests import ImportResult, manifest_files
from local.healthimaging.import_parsing import parse_instances
from local.healthimaging.import_placement import place_instances
from local.healthimaging.messages import model_message
from local.healthimaging.pagination import page
from local.healthimaging.records import ImportJob, new_resource_id
from local.healthimaging.state import EmulatorState

logger = logging.getLogger(__name__)

_STATUS_EVENT = {
    "SUBMITTED": "Import Job Submitted",
    "IN_PROGRESS": "Import Job In Progress",
    "COMPLETED": "Import Job Completed",
    "FAILED": "Import Job Failed",
}


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
            import_configuration=params.get("importConfiguration"),
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
        except Exception:  # a job must end: an emulator bug fails it instead of leaving it IN_PROGRESS
            logger.exception("import job %s failed", job.job_id)
            with self._state.lock:
                self._transition(job, "FAILED", "Internal error while importing")
        finally:
            self._flush_events()

    def _import(self, job: ImportJob) -> ImportResult:
        files = read_input_files(job.input_s3_uri, self._s3_client)
        result = ImportResult(scanned=len(files))
        with self._state.lock:
            storage_format = self._state.datastore(job.datastore_id).lossless_storage_format
        instances = parse_instances(files, result, storage_format)  # decoding and encoding: unlocked
        with self._state.lock:
            placements, refusals = place_instances(
                self._state, self._state.datastore(job.datastore_id), instances
            )
        for placement in placements:
            result.add_image_set(placement.image_set, placement.instances)
        for refusal in refusals:
            result.fail(refusal.instance.input_file, "ConflictException", refusal.message)
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
    if job.import_configuration is not None:
        properties["importConfiguration"] = job.import_configuration
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
        summaries.append(
            {
                k: v
                for k, v in properties.items()
                if k not in ("inputS3Uri", "outputS3Uri", "importConfiguration")
            }
        )
    return {"jobSummaries": summaries, **({"nextToken": token} if token else {})}
