"""The two places the conformance probe runs: an in-process emulator, or a real account (opt-in).

Both import the same file: pydicom's CT_small.dcm with fresh Study, Series and SOP Instance UIDs,
through StartDICOMImportJob, and find the new image set by its Series Instance UID.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pydicom
from botocore.config import Config
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from local.conformance_steps import Target
from local.healthimaging import REAL_SERVICE_QUOTAS, BehaviourProfile, EmulatorServer, SettleTime
from local.healthimaging.client import local_aws_client, medical_imaging_client

SAMPLE = "CT_small.dcm"
PROBE_ROLE_ARN = "arn:aws:iam::123456789012:role/ConformanceProbe"


def reidentified_sample(directory: Path) -> tuple[Path, str]:
    dataset = pydicom.dcmread(str(get_testdata_file(SAMPLE)))
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = generate_uid(), generate_uid()
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    path = directory / "probe.dcm"
    dataset.save_as(path)
    return path, str(dataset.SeriesInstanceUID)


def emulator_profile(rules: str) -> BehaviourProfile:
    """Settles of about a second (a loaded host must still reach the LOCKED image set with a second
    call), and the published GetImageSet quota so that the burst step can be throttled."""
    return BehaviourProfile(
        settle=SettleTime(median_seconds=1.0, p99_seconds=1.5),
        rate_limits={"GetImageSet": REAL_SERVICE_QUOTAS["GetImageSet"]},
        primary_image_set_rules=rules,
    )


def _find_by_series(client: Any, datastore_id: str, series_uid: str, timeout_s: float) -> str:
    criteria = {"filters": [{"operator": "EQUAL", "values": [{"DICOMSeriesInstanceUID": series_uid}]}]}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = client.search_image_sets(datastoreId=datastore_id, searchCriteria=criteria)
        if found["imageSetsMetadataSummaries"]:
            return str(found["imageSetsMetadataSummaries"][0]["imageSetId"])
        time.sleep(1)
    raise TimeoutError("the imported image set did not appear")


def _importer(
    client: Any, datastore_id: str, place: Callable[[Path], tuple[str, str]], role_arn: str, timeout_s: float
) -> Callable[[], str]:
    def import_sample() -> str:
        with tempfile.TemporaryDirectory() as scratch:
            path, series_uid = reidentified_sample(Path(scratch))
            input_uri, output_uri = place(path)
            job = client.start_dicom_import_job(
                datastoreId=datastore_id, dataAccessRoleArn=role_arn, clientToken=uuid.uuid4().hex,
                inputS3Uri=input_uri, outputS3Uri=output_uri, jobName="conformance-probe",
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        status = job["jobStatus"]
        while status not in ("COMPLETED", "FAILED") and time.monotonic() < deadline:
            time.sleep(1)
            status = client.get_dicom_import_job(datastoreId=datastore_id, jobId=job["jobId"])[
                "jobProperties"
            ]["jobStatus"]
        if status != "COMPLETED":
            raise RuntimeError(f"the probe's import job ended {status}")
        return _find_by_series(client, datastore_id, series_uid, timeout_s)

    return import_sample


@contextlib.contextmanager
def emulator_target(rules: str) -> Iterator[Target]:
    with EmulatorServer(profile=emulator_profile(rules)) as emulator, tempfile.TemporaryDirectory() as work:
        client = medical_imaging_client(emulator.endpoint_url)
        burst = local_aws_client(
            "medical-imaging",
            emulator.endpoint_url,
            inject_host_prefix=False,
            retries={"total_max_attempts": 1},
        )
        datastore_id = client.create_datastore(datastoreName="conformance", clientToken="probe")[
            "datastoreId"
        ]
        counter = iter(range(1_000_000))

        def place(path: Path) -> tuple[str, str]:
            run = Path(work) / f"run-{next(counter)}"
            (run / "in").mkdir(parents=True)
            path.rename(run / "in" / path.name)
            return f"file://{run}/in/", f"file://{run}/out/"

        importer = _importer(client, datastore_id, place, PROBE_ROLE_ARN, timeout_s=60)
        yield Target(client, burst, datastore_id, importer, settle_timeout_s=30, poll_interval_s=0.05)


@contextlib.contextmanager
def aws_target(
    datastore_id: str, input_s3_uri: str, output_s3_uri: str, role_arn: str, region: str
) -> Iterator[Target]:
    """A real account: the caller's credentials, an explicit data store, S3 prefixes and import role."""
    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        raise SystemExit("--endpoint aws needs AWS credentials in the environment")
    client = session.client("medical-imaging", config=Config(retries={"mode": "standard"}))
    burst = session.client("medical-imaging", config=Config(retries={"total_max_attempts": 1}))
    s3 = session.client("s3")
    bucket, _, prefix = input_s3_uri.removeprefix("s3://").partition("/")

    def place(path: Path) -> tuple[str, str]:
        run_prefix = f"{prefix.rstrip('/')}/probe-{generate_uid()[-12:]}/"
        s3.upload_file(str(path), bucket, f"{run_prefix}{path.name}")
        return f"s3://{bucket}/{run_prefix}", output_s3_uri

    importer = _importer(client, datastore_id, place, role_arn, timeout_s=900)
    yield Target(client, burst, datastore_id, importer)
