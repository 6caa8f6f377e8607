"""The HealthImaging `Import Job Completed` EventBridge event, parsed into a typed model.

Shape (developer guide, "Using Amazon EventBridge with HealthImaging"): `source` is
`aws.medical-imaging`, `detail-type` is `Import Job Completed`, and `detail` carries `imagingVersion`,
`datastoreId`, `jobId`, `jobName`, `jobStatus`, `inputS3Uri` and `outputS3Uri`. Events this reaction
does not handle (other detail types, other sources, data stores not configured) are *ignored*, a
normal result rather than an error: the EventBridge rule may be broader than this reaction.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

EVENT_SOURCE = "aws.medical-imaging"
IMPORT_JOB_COMPLETED = "Import Job Completed"

_ID_PATTERN = r"^[0-9a-z]{32}$"
_S3_URI_PATTERN = r"^s3://[^/]+/.*$"


class ImportEventInvalid(ValueError):
    """An `Import Job Completed` event whose detail does not have the documented shape.

    The message names the offending fields only, never their values.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid Import Job Completed event: " + "; ".join(problems))


class IgnoredReason(enum.StrEnum):
    NOT_HEALTHIMAGING = "not-healthimaging-source"
    OTHER_DETAIL_TYPE = "other-detail-type"
    JOB_NOT_COMPLETED = "job-not-completed"
    DATASTORE_NOT_ALLOWED = "datastore-not-allowed"


class ImportJobCompleted(BaseModel):
    """`detail` of an `Import Job Completed` event plus the envelope fields worth keeping."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    event_id: str = Field(alias="eventId", min_length=1)
    imaging_version: str = Field(alias="imagingVersion")
    datastore_id: str = Field(alias="datastoreId", pattern=_ID_PATTERN)
    job_id: str = Field(alias="jobId", pattern=_ID_PATTERN)
    job_name: str = Field(default="", alias="jobName")
    job_status: str = Field(alias="jobStatus")
    input_s3_uri: str = Field(alias="inputS3Uri", pattern=_S3_URI_PATTERN)
    output_s3_uri: str = Field(alias="outputS3Uri", pattern=_S3_URI_PATTERN)


@dataclass(frozen=True)
class ImportEventIgnored:
    reason: IgnoredReason
    # Ids only (data store, job) so the summary can still say what was ignored.
    datastore_id: str = ""
    job_id: str = ""


def parse_import_job_completed(
    envelope: Mapping[str, Any], allowed_datastores: Collection[str]
) -> ImportJobCompleted | ImportEventIgnored:
    """Parse an EventBridge envelope, or say why this reaction ignores it.

    `allowed_datastores` empty means "any data store", as `UpdaterSettings.allowed_datastores` does
    (local runs only: the stack always sets the list). Raises `ImportEventInvalid` when the event is an
    `Import Job Completed` from HealthImaging but its detail lacks documented fields.
    """
    if envelope.get("source") != EVENT_SOURCE:
        return ImportEventIgnored(IgnoredReason.NOT_HEALTHIMAGING)
    if envelope.get("detail-type") != IMPORT_JOB_COMPLETED:
        return ImportEventIgnored(IgnoredReason.OTHER_DETAIL_TYPE)
    detail = envelope.get("detail")
    if not isinstance(detail, Mapping):
        raise ImportEventInvalid(["detail: missing or not an object"])
    try:
        job = ImportJobCompleted.model_validate({**detail, "eventId": envelope.get("id", "")})
    except ValidationError as error:
        raise ImportEventInvalid(_field_problems(error)) from None
    if job.job_status != "COMPLETED":
        return ImportEventIgnored(IgnoredReason.JOB_NOT_COMPLETED, job.datastore_id, job.job_id)
    if allowed_datastores and job.datastore_id not in allowed_datastores:
        return ImportEventIgnored(IgnoredReason.DATASTORE_NOT_ALLOWED, job.datastore_id, job.job_id)
    return job


def _field_problems(error: ValidationError) -> list[str]:
    # include_input=False: the message must not echo values from the event.
    return [
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    ]
