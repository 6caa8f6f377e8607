from __future__ import annotations

from typing import Any

import pytest
from botocore.response import StreamingBody

from tests.integration.imports.conftest import failure, put_ndjson, success
from updater.imports.manifests import (
    FailedFile,
    ImportedImageSet,
    ImportManifestInvalid,
    ImportManifestReader,
    ImportOutputNotFound,
    S3Location,
)

DATASTORE_ID = "bbc4f3cccbae4095a34170fddc19b13d"
JOB_ID = "a6a1d220f152e7aab6d8925d995d8b76"
JOB_FOLDER = f"output/{DATASTORE_ID}-DicomImport-{JOB_ID}/"
SET_A = "a" * 32
SET_B = "b" * 32
SET_C = "c" * 32


def write_job_output(s3: Any, bucket: str, prefix: str = JOB_FOLDER) -> None:
    s3.put_object(Bucket=bucket, Key=prefix + "job-output-manifest.json", Body=b"{}")
    put_ndjson(
        s3, bucket, prefix + "SUCCESS/success.ndjson",
        [success("input/1.dcm", SET_A), success("input/2.dcm", SET_B), success("input/3.dcm", SET_A)],
    )  # fmt: skip
    put_ndjson(
        s3, bucket, prefix + "WARNING/warning.ndjson",
        [{"inputFile": "input/4.dcm",
          "importResponse": {"imageSetId": SET_C, "isPrimary": False, "warnings": []}},
         {"inputFile": "input/5.dcm", "importResponse": {"imageSetId": SET_B}}],
    )  # fmt: skip
    put_ndjson(s3, bucket, prefix + "FAILURE/failure.ndjson", [failure("input/bad.dcm")])


def test_the_job_folder_under_the_bare_output_prefix_is_found(s3: Any, bucket: str) -> None:
    write_job_output(s3, bucket)

    location = ImportManifestReader(s3).locate_output(f"s3://{bucket}/output/", DATASTORE_ID, JOB_ID)

    assert location == S3Location(bucket, JOB_FOLDER)


def test_an_output_uri_that_already_names_the_job_folder_is_used_as_is(s3: Any, bucket: str) -> None:
    location = ImportManifestReader(s3).locate_output(f"s3://{bucket}/{JOB_FOLDER}", DATASTORE_ID, JOB_ID)

    assert location == S3Location(bucket, JOB_FOLDER)


def test_manifests_directly_under_the_output_prefix_are_found_too(s3: Any, bucket: str) -> None:
    write_job_output(s3, bucket, prefix="output/")

    location = ImportManifestReader(s3).locate_output(f"s3://{bucket}/output", DATASTORE_ID, JOB_ID)

    assert location == S3Location(bucket, "output/")


def test_a_job_without_output_is_reported(s3: Any, bucket: str) -> None:
    with pytest.raises(ImportOutputNotFound, match=JOB_ID):
        ImportManifestReader(s3).locate_output(f"s3://{bucket}/output/", DATASTORE_ID, JOB_ID)


def test_image_sets_from_success_and_warning_files_once_each(s3: Any, bucket: str) -> None:
    write_job_output(s3, bucket)
    reader = ImportManifestReader(s3)

    image_sets = list(reader.image_sets(S3Location(bucket, JOB_FOLDER)))

    assert image_sets == [
        ImportedImageSet(SET_A, True),
        ImportedImageSet(SET_B, True),
        ImportedImageSet(SET_C, False),
    ]


def test_failed_files_are_listed_by_name(s3: Any, bucket: str) -> None:
    write_job_output(s3, bucket)

    failed = list(ImportManifestReader(s3).failed_files(S3Location(bucket, JOB_FOLDER)))

    assert failed == [FailedFile("input/bad.dcm", "ValidationException")]


def test_missing_failure_and_warning_files_mean_none(s3: Any, bucket: str) -> None:
    put_ndjson(s3, bucket, JOB_FOLDER + "SUCCESS/success.ndjson", [success("input/1.dcm", SET_A)])
    reader = ImportManifestReader(s3)
    location = S3Location(bucket, JOB_FOLDER)

    assert list(reader.failed_files(location)) == []
    assert [image_set.image_set_id for image_set in reader.image_sets(location)] == [SET_A]


def test_a_broken_manifest_line_names_file_and_line(s3: Any, bucket: str) -> None:
    key = JOB_FOLDER + "SUCCESS/success.ndjson"
    s3.put_object(Bucket=bucket, Key=key, Body=b'{"inputFile": "a.dcm"}\n\n{"inputFile": "b.dcm", \n')

    with pytest.raises(ImportManifestInvalid, match=rf"{key} line 3: not JSON"):
        list(ImportManifestReader(s3).image_sets(S3Location(bucket, JOB_FOLDER)))


class ReadCounter:
    """Wraps a real GetObject body to count what the reader pulls from the network."""

    def __init__(self, body: StreamingBody) -> None:
        self._body = body
        self.bytes_read = 0
        self.unbounded_reads = 0

    def read(self, amount: int | None = None) -> bytes:
        if amount is None:
            self.unbounded_reads += 1
        data = self._body.read(amount)
        self.bytes_read += len(data)
        return data

    def close(self) -> None:
        self._body.close()


def test_a_large_manifest_is_streamed_not_loaded_whole(s3: Any, bucket: str) -> None:
    ids = [f"{n:032x}" for n in range(20_000)]
    size = put_ndjson(
        s3, bucket, JOB_FOLDER + "SUCCESS/success.ndjson", (success(f"in/{i}.dcm", i) for i in ids)
    )
    counters: list[ReadCounter] = []

    def count_reads(parsed: dict[str, Any], **_: Any) -> None:
        if "Body" not in parsed:
            return  # NoSuchKey for the warnings file
        counters.append(ReadCounter(parsed["Body"]))
        parsed["Body"] = StreamingBody(counters[-1], parsed["ContentLength"])

    s3.meta.events.register("after-call.s3.GetObject", count_reads)
    try:
        image_sets = ImportManifestReader(s3).image_sets(S3Location(bucket, JOB_FOLDER))
        first = next(image_sets)
        read_before_first = counters[0].bytes_read
        rest = list(image_sets)
    finally:
        s3.meta.events.unregister("after-call.s3.GetObject", count_reads)

    assert first.image_set_id == ids[0]
    assert read_before_first < size / 10
    assert counters[0].unbounded_reads == 0
    assert [image_set.image_set_id for image_set in rest] == ids[1:]
    assert counters[0].bytes_read == size
