"""The import job's output: `job-output-manifest.json`, `SUCCESS/success.ndjson`, `FAILURE/failure.ndjson`
and, when files were imported with warnings, `WARNING/warning.ndjson` with `warningsOutputS3Uri` in the
summary (formats from the developer guide, "Understanding import jobs")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from local.healthimaging.records import ImageSet, ImportJob

if TYPE_CHECKING:
    from local.healthimaging.dicom_import import ParsedInstance


@dataclass
class ImportResult:
    scanned: int
    successes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    image_sets: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, input_file: str, exception_type: str, message: str) -> None:
        self.failures.append(
            {"inputFile": input_file, "exception": {"exceptionType": exception_type, "message": message}}
        )

    def add_image_set(self, image_set: ImageSet, instances: list[ParsedInstance]) -> None:
        """One `imageSetsSummary` item per image set the job created or changed (or matched)."""
        version = int(image_set.latest.version_id)
        self.image_sets.append(
            {
                "imageSetId": image_set.image_set_id,
                "imageSetVersion": version,
                "isPrimary": image_set.is_primary,
                "numberOfMatchedSOPInstances": len(instances),
            }
        )
        response = {"imageSetId": image_set.image_set_id, "isPrimary": image_set.is_primary}
        for instance in instances:
            if instance.warnings:
                warned = {**response, "imageSetVersion": version, "warnings": instance.warnings}
                self.warnings.append({"inputFile": instance.input_file, "importResponse": warned})
            else:
                self.successes.append({"inputFile": instance.input_file, "importResponse": response})


def _ndjson(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def manifest_files(result: ImportResult, job: ImportJob, output_uri: str) -> dict[str, str]:
    """Relative path below the job's output prefix -> file content."""
    summary: dict[str, Any] = {
        "jobId": job.job_id,
        "datastoreId": job.datastore_id,
        "inputS3Uri": job.input_s3_uri,
        "outputS3Uri": output_uri,
        "successOutputS3Uri": f"{output_uri}SUCCESS/",
        "failureOutputS3Uri": f"{output_uri}FAILURE/",
        "numberOfScannedFiles": result.scanned,
        "numberOfImportedFiles": len(result.successes) + len(result.warnings),
        "numberOfFilesWithCustomerError": len(result.failures),
        "numberOfFilesWithServerError": 0,
        "numberOfGeneratedImageSets": len(result.image_sets),
        "imageSetsSummary": result.image_sets,
    }
    files = {
        "SUCCESS/success.ndjson": _ndjson(result.successes),
        "FAILURE/failure.ndjson": _ndjson(result.failures),
    }
    if result.warnings:
        summary["warningsOutputS3Uri"] = f"{output_uri}WARNING/"
        files["WARNING/warning.ndjson"] = _ndjson(result.warnings)
    return {"job-output-manifest.json": json.dumps({"jobSummary": summary}), **files}
