"""Driving the local stack the way the demo and the integration tests both do, from one place.

Sample requests under `events/requests/` carry the seed document's placeholder ids and UIDs; they
are filled in with the ids of image sets imported into the emulator. Imports go through moto's S3
and the emulator's StartDICOMImportJob, so HealthImaging's own `Import Job Completed` event flows
through the stack's rule exactly as in AWS.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from pydicom.data import get_testdata_file

from local.healthimaging.client import medical_imaging_client
from local.invoke import drain
from local.samples import import_files, sample_path
from local.stack import LocalStack

REQUESTS = Path(__file__).resolve().parent.parent / "events" / "requests"
PLACEHOLDER_DATASTORE = "12345678901234567890123456789012"
PLACEHOLDER_UID = (
    "1.1.1.1.1.1.12345.123456789012.123.12345678901234.1"  # the seed uses it for series AND instance
)
SEED_SERIES_UID = "1.3.6.1.4.1.5962.99.1.3633258862.2104868982.1369432891697.3656.0"
SEED_INSTANCE_UID = "1.3.6.1.4.1.5962.99.1.3633258862.2104868982.1369432891697.3659.0"


def read_metadata(stack: LocalStack, image_set_id: str, version: str | None = None) -> dict[str, Any]:
    client = medical_imaging_client(stack.emulator.endpoint_url)
    params = {"datastoreId": stack.datastore_id, "imageSetId": image_set_id}
    if version:
        params["versionId"] = version
    blob = client.get_image_set_metadata(**params)["imageSetMetadataBlob"].read()
    return json.loads(gzip.decompress(blob))  # type: ignore[no-any-return]


def only_instance(document: dict[str, Any]) -> tuple[str, str]:
    """(SeriesInstanceUID, SOPInstanceUID) of a one-series, one-instance image set."""
    ((series_uid, series),) = document["Study"]["Series"].items()
    return series_uid, next(iter(series["Instances"]))


def sample_request(stack: LocalStack, name: str, image_set_id: str, request_id: str) -> dict[str, Any]:
    """A request file from events/requests with its placeholders replaced by the image set's real ids."""
    text = (REQUESTS / name).read_text()
    series_uid, instance_uid = only_instance(read_metadata(stack, image_set_id))
    text = text.replace(PLACEHOLDER_DATASTORE, stack.datastore_id)
    text = text.replace(PLACEHOLDER_UID, series_uid, 1).replace(PLACEHOLDER_UID, instance_uid, 1)
    text = text.replace(SEED_SERIES_UID, series_uid).replace(SEED_INSTANCE_UID, instance_uid)
    document: dict[str, Any] = json.loads(text)
    document["imageSetId"] = image_set_id
    document["requestId"] = request_id
    return document


def import_image_set(stack: LocalStack, sample: str) -> str:
    """One pydicom sample file as a new image set (directly, without an import job)."""
    (image_set_id,) = stack.emulator.service.import_dicom_files(
        stack.datastore_id, [str(get_testdata_file(sample))]
    )
    return str(image_set_id)


def import_job_from_s3(
    stack: LocalStack, prefix: str, samples: tuple[str, ...], *, broken: int = 0
) -> dict[str, Any]:
    """Upload samples (and `broken` non-DICOM files) to moto S3 and run a real import job to completion."""
    files = [(name, sample_path(name).read_bytes()) for name in samples]
    files += [(f"broken-{index}.dcm", b"not dicom") for index in range(broken)]
    job = import_files(
        stack.moto.endpoint_url, stack.emulator.endpoint_url, stack.datastore_id, files, prefix=prefix
    )
    return {**job, "jobStatus": "COMPLETED"}


def send_requests(stack: LocalStack, bodies: list[dict[str, Any] | str]) -> None:
    assert stack.topology is not None
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body)
        stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=text)


def outcome_events(stack: LocalStack) -> list[dict[str, Any]]:
    """Every event the updater published since the last call (EventBridge envelopes)."""
    assert stack.topology is not None
    return drain(stack.aws, stack.topology.queue("outcome_capture").url)


def submit_and_wait(stack: LocalStack, body: dict[str, Any], timeout_s: float = 60) -> dict[str, Any]:
    """Send one request, let the pollers run the handler, return its one outcome event's detail."""
    send_requests(stack, [body])
    stack.run_until_idle(timeout_s)
    mine = [e for e in outcome_events(stack) if e["detail"].get("requestId") == body["requestId"]]
    if len(mine) != 1:
        raise AssertionError(f"expected exactly one outcome for {body['requestId']}, got {len(mine)}")
    return mine[0]["detail"]  # type: ignore[no-any-return]
