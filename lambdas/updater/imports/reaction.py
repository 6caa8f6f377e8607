"""Reacting to an `Import Job Completed` event: manifests -> rules and corrections -> UpdateRequests.

Called by the Lambda handler for each EventBridge envelope. Retrying a failed reaction is always
safe: request ids are deterministic (the ledger applies nothing twice) and changes already applied
are not planned again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, Protocol

from updater.imports.corrections import CorrectionsLoad, is_corrections_file
from updater.imports.events import ImportEventIgnored, ImportJobCompleted, parse_import_job_completed
from updater.imports.manifests import FailedFile, ImportedImageSet, S3Location
from updater.imports.planner import ImportPlan, MetadataFetcher, plan_import_updates
from updater.imports.rules import RuleSet
from updater.imports.summary import MAX_LISTED_FILE_NAMES, ImportSummary, listed_file_names

logger = logging.getLogger(__name__)


class ManifestSource(Protocol):
    def locate_output(self, output_s3_uri: str, datastore_id: str, job_id: str) -> S3Location: ...
    def image_sets(self, output: S3Location) -> Iterator[ImportedImageSet]: ...
    def failed_files(self, output: S3Location) -> Iterator[FailedFile]: ...
    def imported_versions(self, output: S3Location) -> dict[str, str]: ...


class CorrectionsSource(Protocol):
    def read(self, input_s3_uri: str) -> CorrectionsLoad: ...


class RequestSink(Protocol):
    def send(self, requests: Sequence[Mapping[str, Any]]) -> int: ...


def react_to_import_completed(
    event: Mapping[str, Any],
    *,
    allowed_datastores: Collection[str],
    manifest_reader: ManifestSource,
    fetch_metadata: MetadataFetcher,
    rules: RuleSet,
    corrections_reader: CorrectionsSource,
    fanout: RequestSink,
) -> ImportSummary:
    """Plan and enqueue the updates an import calls for; summarize without attribute values.

    Raises `ImportEventInvalid` (malformed detail), `ImportOutputNotFound` (no manifests yet),
    `ImportManifestInvalid`, `FanoutIncomplete`, and whatever `fetch_metadata` raises.
    """
    parsed = parse_import_job_completed(event, allowed_datastores)
    if isinstance(parsed, ImportEventIgnored):
        logger.info("import event ignored", extra={"reason": parsed.reason.value, "jobId": parsed.job_id})
        return ImportSummary(
            jobId=parsed.job_id, datastoreId=parsed.datastore_id, ignoredReason=parsed.reason
        )
    job = parsed
    output = manifest_reader.locate_output(job.output_s3_uri, job.datastore_id, job.job_id)
    # The sidecar itself sits in the input prefix: HealthImaging reports it as a non-DICOM failure.
    failed = [
        f.input_file for f in manifest_reader.failed_files(output) if not is_corrections_file(f.input_file)
    ]
    corrections = corrections_reader.read(job.input_s3_uri)
    image_set_ids = (image_set.image_set_id for image_set in manifest_reader.image_sets(output))
    plan = plan_import_updates(
        job,
        image_set_ids,
        fetch_metadata=fetch_metadata,
        rules=rules,
        corrections=corrections.files,
        versions=manifest_reader.imported_versions(output),
    )
    sent = fanout.send(plan.requests)
    _log_plan(job, plan)
    names, truncated = listed_file_names(failed)
    return ImportSummary(
        jobId=job.job_id,
        datastoreId=job.datastore_id,
        imageSetsSeen=plan.image_sets_seen,
        updatesRequested=sent,
        skipped=plan.skipped,
        failedFiles=len(failed),
        failedFileNames=names,
        failedFileNamesTruncated=truncated,
        # Bounded like the failed files: the summary is one EventBridge entry (256 KB at most).
        rejectedCorrectionsFiles=[rejected.name for rejected in corrections.rejected][:MAX_LISTED_FILE_NAMES],
    )


def _log_plan(job: ImportJobCompleted, plan: ImportPlan) -> None:
    for update in plan.updates:
        logger.info(
            "import update requested",
            extra={
                "jobId": job.job_id,
                "imageSetId": update.request["imageSetId"],
                "requestId": update.request["requestId"],
                "source": update.source_id,
                "attributes": update.changed_keywords,  # names only
            },
        )
