"""Reads a DICOM import job's output manifests from S3.

HealthImaging writes each job's results under `<outputS3Uri>/<datastoreId>-DicomImport-<jobId>/`
(`job-output-manifest.json`, `SUCCESS/success.ndjson`, `FAILURE/failure.ndjson`, `WARNING/warning.ndjson`).
Whether the event's `outputS3Uri` already includes that sub-prefix is not documented (the sample
shows the bare prefix), so both are accepted. An import may hold up to 5,000 files, so the NDJSON
files are streamed line by line rather than read whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SUCCESS_KEY = "SUCCESS/success.ndjson"
WARNING_KEY = "WARNING/warning.ndjson"
FAILURE_KEY = "FAILURE/failure.ndjson"
JOB_MANIFEST_KEY = "job-output-manifest.json"
# Large enough that a long line rarely spans chunks: iter_lines re-joins a pending line per chunk.
_CHUNK_SIZE = 64 * 1024


class ImportOutputNotFound(Exception):
    """Neither the output prefix nor its job sub-prefix holds any object: retry later."""


class ImportManifestInvalid(Exception):
    """A manifest line is not the JSON object HealthImaging documents (names file and line only)."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # empty or ending in "/"

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        if not uri.startswith("s3://"):
            raise ValueError("not an s3:// URI")
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return cls(bucket, prefix)


@dataclass(frozen=True)
class ImportedImageSet:
    image_set_id: str
    is_primary: bool | None


@dataclass(frozen=True)
class FailedFile:
    input_file: str
    exception_type: str


class ImportManifestReader:
    """Adapter: the image sets and failed files of a finished import, streamed from S3."""

    def __init__(self, s3_client: S3Client) -> None:
        self._s3 = s3_client

    def locate_output(self, output_s3_uri: str, datastore_id: str, job_id: str) -> S3Location:
        """The prefix that holds this job's manifests, tolerating both documented forms."""
        given = S3Location.parse(output_s3_uri)
        job_folder = f"{datastore_id}-DicomImport-{job_id}/"
        if given.prefix.endswith(job_folder):
            return given
        nested = S3Location(given.bucket, given.prefix + job_folder)
        for candidate in (nested, given):
            if self._holds_manifests(candidate):
                return candidate
        raise ImportOutputNotFound(f"no import output for job {job_id} in bucket {given.bucket}")

    def image_sets(self, output: S3Location) -> Iterator[ImportedImageSet]:
        """Each image set the job created or changed, once, in manifest order.

        Files imported with warnings are imported too, so `WARNING/` counts as well as `SUCCESS/`.
        """
        seen: set[str] = set()
        for key in (SUCCESS_KEY, WARNING_KEY):
            for record in self._records(output, key):
                response = record.get("importResponse")
                image_set_id = response.get("imageSetId") if isinstance(response, dict) else None
                if not isinstance(image_set_id, str) or image_set_id in seen:
                    continue
                seen.add(image_set_id)
                is_primary = response.get("isPrimary") if isinstance(response, dict) else None
                yield ImportedImageSet(image_set_id, is_primary if isinstance(is_primary, bool) else None)

    def imported_versions(self, output: S3Location) -> dict[str, str]:
        """Image set id -> the version this job made, from the job manifest's imageSetsSummary
        (`imageSetVersion`, where the service writes it; {} where it does not)."""
        try:
            body = self._s3.get_object(Bucket=output.bucket, Key=output.prefix + JOB_MANIFEST_KEY)["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return {}
            raise
        with body:
            try:
                manifest = json.loads(body.read())
            except ValueError:
                raise ImportManifestInvalid(f"{JOB_MANIFEST_KEY}: not JSON") from None
        summary = manifest.get("jobSummary") if isinstance(manifest, dict) else None
        items = summary.get("imageSetsSummary") if isinstance(summary, dict) else None
        versions: dict[str, str] = {}
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            image_set_id, version = item.get("imageSetId"), item.get("imageSetVersion")
            if isinstance(image_set_id, str) and isinstance(version, int | str) and str(version).isdigit():
                versions[image_set_id] = str(version)
        return versions

    def failed_files(self, output: S3Location) -> Iterator[FailedFile]:
        """Files the job could not import: reported in the summary, never fatal."""
        for record in self._records(output, FAILURE_KEY):
            exception = record.get("exception")
            exception_type = exception.get("exceptionType", "") if isinstance(exception, dict) else ""
            yield FailedFile(str(record.get("inputFile", "")), str(exception_type))

    def _holds_manifests(self, location: S3Location) -> bool:
        listing = self._s3.list_objects_v2(Bucket=location.bucket, Prefix=location.prefix, MaxKeys=1)
        return bool(listing.get("KeyCount", 0))

    def _records(self, output: S3Location, relative_key: str) -> Iterator[dict[str, Any]]:
        key = output.prefix + relative_key
        try:
            body = self._s3.get_object(Bucket=output.bucket, Key=key)["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return  # a job without failures (or warnings) may not write that file at all
            raise
        with body:
            for number, line in enumerate(body.iter_lines(chunk_size=_CHUNK_SIZE), start=1):
                if line.strip():
                    yield _parse_line(line, key, number)


def _parse_line(line: bytes, key: str, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        raise ImportManifestInvalid(f"{key} line {number}: not JSON") from None
    if not isinstance(record, dict):
        raise ImportManifestInvalid(f"{key} line {number}: not a JSON object")
    return record
