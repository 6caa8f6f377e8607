"""S3 buckets and SQS queues on the session's moto server, fresh names per test (moto's state is shared)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

import pytest

from local.moto_stack import MotoServer


@pytest.fixture(scope="session")
def s3(moto_server: MotoServer) -> Any:
    return moto_server.client("s3")


@pytest.fixture(scope="session")
def sqs(moto_server: MotoServer) -> Any:
    return moto_server.client("sqs")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"imports-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=f"ingest-{uuid.uuid4().hex[:12]}")["QueueUrl"])


def put_ndjson(s3: Any, bucket: str, key: str, records: Iterable[dict[str, Any]]) -> int:
    body = "".join(json.dumps(record) + "\n" for record in records).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return len(body)


def success(input_file: str, image_set_id: str) -> dict[str, Any]:
    return {"inputFile": input_file, "importResponse": {"imageSetId": image_set_id, "isPrimary": True}}


def failure(input_file: str) -> dict[str, Any]:
    return {
        "inputFile": input_file,
        "exception": {
            "exceptionType": "ValidationException",
            "message": "DICOM attribute TransferSyntaxUID does not exist",
        },
    }


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message body on the queue (deleted as read)."""
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
