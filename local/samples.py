"""pydicom's sample DICOM files as image sets of a local stack, imported the way AWS imports them.

The files go to moto's S3 and a real StartDICOMImportJob reads them, so HealthImaging's `Import Job
Completed` event reaches the stack's rule and the stage's import rules run, as in AWS. Everything
here talks to endpoints (moto, the emulator) over HTTP, so it serves the stack's own process
(`python -m local.stack`) and another one (`python -m local.invoke --running`) alike.
"""

from __future__ import annotations

import gzip
import io
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local.moto_stack import LOCAL_ACCOUNT_ID, local_client

SAMPLE_FILES = ("CT_small.dcm", "MR_small.dcm")
# The dev stage's import prefixes (cdk.json): the updater may read manifests only there.
IMPORT_BUCKET = "healthimaging-test-bucket"
# The emulator does not check the role; an obviously local ARN.
IMPORT_ROLE_ARN = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/local-import"
IMPORT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class SampleImageSet:
    """One imported image set: what a request needs to name (ids and UIDs), no attribute values."""

    image_set_id: str
    sample: str
    modality: str
    version_id: str
    series_uid: str
    instance_uids: tuple[str, ...]


@dataclass(frozen=True)
class SampleImport:
    """One import job and the image sets it made (what an `Import Job Completed` replay points at)."""

    job_id: str
    datastore_id: str
    input_s3_uri: str
    output_s3_uri: str
    image_sets: tuple[SampleImageSet, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> SampleImport:
        image_sets = tuple(
            SampleImageSet(**{**item, "instance_uids": tuple(item["instance_uids"])})
            for item in document["image_sets"]
        )
        return cls(**{**document, "image_sets": image_sets})


def sample_path(name: str) -> Path:
    from pydicom.data import get_testdata_file  # noqa: PLC0415  (pydicom is slow to import)

    found = get_testdata_file(name)
    if found is None:
        raise FileNotFoundError(f"pydicom ships no sample file {name!r}")
    return Path(str(found))


def reidentified_copy(name: str) -> bytes:
    """The sample with fresh Series and SOP Instance UIDs (its Study kept): HealthImaging's re-import
    rules would match an identical copy to the image set already made from it."""
    import pydicom  # noqa: PLC0415
    from pydicom.uid import generate_uid  # noqa: PLC0415

    dataset = pydicom.dcmread(sample_path(name))
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    return buffer.getvalue()


def import_files(
    moto_endpoint_url: str,
    healthimaging_endpoint_url: str,
    datastore_id: str,
    files: Sequence[tuple[str, bytes]],
    *,
    prefix: str,
) -> dict[str, str]:
    """Uploads (name, content) pairs under input/<prefix>/ and imports them with one real job.

    Returns the job's properties once it has COMPLETED: inputS3Uri and outputS3Uri as given (what
    its `Import Job Completed` event carries), jobOutputS3Uri where its manifests are.
    """
    s3 = local_client("s3", moto_endpoint_url)
    if IMPORT_BUCKET not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=IMPORT_BUCKET)
    for name, content in files:
        s3.put_object(Bucket=IMPORT_BUCKET, Key=f"input/{prefix}/{name}", Body=content)
    client = _medical_imaging(healthimaging_endpoint_url)
    given = {
        "inputS3Uri": f"s3://{IMPORT_BUCKET}/input/{prefix}/",
        "outputS3Uri": f"s3://{IMPORT_BUCKET}/output/{prefix}/",
    }
    job = client.start_dicom_import_job(
        datastoreId=datastore_id,
        jobName=f"import-{prefix}"[:64],
        dataAccessRoleArn=IMPORT_ROLE_ARN,
        **given,
    )
    deadline = time.monotonic() + IMPORT_TIMEOUT_S
    while time.monotonic() < deadline:
        properties = client.get_dicom_import_job(datastoreId=datastore_id, jobId=job["jobId"])
        status = properties["jobProperties"]["jobStatus"]
        if status == "COMPLETED":
            job_output = str(properties["jobProperties"]["outputS3Uri"])
            return {"jobId": job["jobId"], "datastoreId": datastore_id, **given, "jobOutputS3Uri": job_output}
        if status == "FAILED":
            raise RuntimeError(f"import job {job['jobId']} FAILED")
        time.sleep(0.1)
    raise TimeoutError(f"import job {job['jobId']} did not complete in {IMPORT_TIMEOUT_S:.0f} s")


def imported_image_sets(moto_endpoint_url: str, job: dict[str, str]) -> dict[str, str]:
    """Input file name -> image set id, from the job's SUCCESS manifest."""
    s3 = local_client("s3", moto_endpoint_url)
    key = job["jobOutputS3Uri"].removeprefix(f"s3://{IMPORT_BUCKET}/") + "SUCCESS/success.ndjson"
    lines = s3.get_object(Bucket=IMPORT_BUCKET, Key=key)["Body"].read().decode().splitlines()
    found = {}
    for line in filter(None, lines):
        item = json.loads(line)
        found[item["inputFile"].rsplit("/", 1)[-1]] = item["importResponse"]["imageSetId"]
    return found


def describe(
    healthimaging_endpoint_url: str, datastore_id: str, image_set_id: str, sample: str
) -> SampleImageSet:
    """The image set's current version, modality and UIDs (one series per image set, as imports make)."""
    client = _medical_imaging(healthimaging_endpoint_url)
    version = client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)["versionId"]
    blob = client.get_image_set_metadata(datastoreId=datastore_id, imageSetId=image_set_id)
    document = json.loads(gzip.decompress(blob["imageSetMetadataBlob"].read()))
    ((series_uid, series),) = document["Study"]["Series"].items()
    return SampleImageSet(
        image_set_id=image_set_id,
        sample=sample,
        modality=str(series.get("DICOM", {}).get("Modality", "")),
        version_id=str(version),
        series_uid=series_uid,
        instance_uids=tuple(series.get("Instances", {})),
    )


def import_samples(
    moto_endpoint_url: str,
    healthimaging_endpoint_url: str,
    datastore_id: str,
    samples: Sequence[str] = SAMPLE_FILES,
    *,
    prefix: str | None = None,
    reidentify: bool = False,
) -> SampleImport:
    """Imports the named pydicom samples (a name may repeat when `reidentify`) with one job."""
    names = [f"{index:03d}-{name}" if reidentify else name for index, name in enumerate(samples)]
    files = [
        (file_name, reidentified_copy(name) if reidentify else sample_path(name).read_bytes())
        for file_name, name in zip(names, samples, strict=True)
    ]
    job = import_files(
        moto_endpoint_url,
        healthimaging_endpoint_url,
        datastore_id,
        files,
        prefix=prefix or f"samples-{uuid.uuid4().hex[:8]}",
    )
    by_file = imported_image_sets(moto_endpoint_url, job)
    image_sets = tuple(
        describe(healthimaging_endpoint_url, datastore_id, by_file[file_name], name)
        for file_name, name in zip(names, samples, strict=True)
        if file_name in by_file
    )
    return SampleImport(
        job_id=job["jobId"],
        datastore_id=datastore_id,
        input_s3_uri=job["inputS3Uri"],
        output_s3_uri=job["outputS3Uri"],
        image_sets=image_sets,
    )


def refreshed(imported: SampleImport, healthimaging_endpoint_url: str) -> SampleImport:
    """The same image sets described again (after the import rules made new versions)."""
    image_sets = tuple(
        describe(healthimaging_endpoint_url, imported.datastore_id, image_set.image_set_id, image_set.sample)
        for image_set in imported.image_sets
    )
    return SampleImport(**{**asdict(imported), "image_sets": image_sets})


def image_set_table(image_sets: Sequence[SampleImageSet]) -> str:
    """The table `python -m local.stack` prints: what `local.submit` needs, nothing cut."""
    rows = [("image set id", "sample", "modality", "version", "series instance UID", "SOP instance UID")]
    for image_set in image_sets:
        instance = image_set.instance_uids[0] if image_set.instance_uids else "-"
        rows.append(
            (
                image_set.image_set_id,
                image_set.sample,
                image_set.modality,
                image_set.version_id,
                image_set.series_uid,
                instance,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _medical_imaging(endpoint_url: str) -> Any:
    from local.healthimaging.client import medical_imaging_client  # noqa: PLC0415

    return medical_imaging_client(endpoint_url)
