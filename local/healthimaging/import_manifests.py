"""The import job's output: `job-output-manifest.json`, `SUCCESS/success.ndjson`, `FAILURE/failure.ndjson`
(formats from the developer guide, "Understanding import jobs")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from local.healthimaging.records import ImageSet, ImportJob


@dataclass
class ImportResult:
    scanned: int
    successes: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    image_sets: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, input_file: str, exception_type: str, message: str) -> None:
        self.failures.append(
            {"inputFile": input_file, "exception": {"exceptionType": exception_type, "message": message}}
        )

    def add_image_set(self, image_set: ImageSet, input_files: list[str]) -> None:
        self.image_sets.append(
            {
                "imageSetId": image_set.image_set_id,
                "imageSetVersion": int(image_set.latest.version_id),
                "isPrimary": image_set.is_primary,
                "numberOfMatchedSOPInstances": len(input_files),
            }
        )
        response = {"imageSetId": image_set.image_set_id, "isPrimary": image_set.is_primary}
        self.successes.extend({"inputFile": name, "importResponse": response} for name in input_files)


def manifest_files(result: ImportResult, job: ImportJob, output_uri: str) -> dict[str, str]:
    """Relative path below the job's output prefix -> file content."""
    summary = {
        "jobId": job.job_id,
        "datastoreId": job.datastore_id,
        "inputS3Uri": job.input_s3_uri,
        "outputS3Uri": output_uri,
        "successOutputS3Uri": f"{output_uri}SUCCESS/",
        "failureOutputS3Uri": f"{output_uri}FAILURE/",
        "numberOfScannedFiles": result.scanned,
        "numberOfImportedFiles": len(result.successes),
        "numberOfFilesWithCustomerError": len(result.failures),
        "numberOfFilesWithServerError": 0,
        "numberOfGeneratedImageSets": len(result.image_sets),
        "imageSetsSummary": result.image_sets,
    }
    return {
        "job-output-manifest.json": json.dumps({"jobSummary": summary}),
        "SUCCESS/success.ndjson": "".join(json.dumps(line) + "\n" for line in result.successes),
        "FAILURE/failure.ndjson": "".join(json.dumps(line) + "\n" for line in result.failures),
    }
