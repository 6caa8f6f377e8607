"""How the corpus reaches the real functions on the local stack: SQS records in mixed batches,
PutEvents through the stack's rules (then the rules queue, as its event source mapping would),
records to the finalizer and to apply, whole invocation events."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from local.lambda_invocation import InvocationStatus
from local.moto_stack import MOTO_DEFAULT_SENDER_ID
from local.sqs_lambda_event import lambda_sqs_event, lambda_sqs_record
from local.stack import LocalStack
from tests.integration.hostile.corpus import LOCAL_SOURCE, Good, Hostile, Route, Sent

BATCH_SIZE = 10


def received(body: str, **attributes: str) -> dict[str, Any]:
    """A message as ReceiveMessage returns it."""
    return {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": uuid.uuid4().hex,
        "Body": body,
        "MD5OfBody": hashlib.md5(body.encode("utf-8", "surrogatepass")).hexdigest(),
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": MOTO_DEFAULT_SENDER_ID,
        }
        | attributes,
    }


def record_of(sent: Sent, queue_arn: str, **attributes: str) -> dict[str, Any]:
    record = lambda_sqs_record(received(sent.body, **attributes), queue_arn)
    if isinstance(sent, Hostile):
        for name, value in sent.record.items():
            record[name] = {**record[name], **value} if isinstance(value, dict) else value
    return record


def batches(items: Sequence[Sent], mates: Iterator[Good], size: int = BATCH_SIZE) -> list[list[Sent]]:
    """`size - 1` items and one fresh good batch-mate per batch; a good request the next item
    reuses the requestId of stays in the newcomer's batch."""
    found: list[list[Sent]] = []
    chunk: list[Sent] = []
    for item in items:
        if len(chunk) >= size - 1:
            carried = [chunk.pop()] if isinstance(chunk[-1], Good) else []
            found.append([*chunk, next(mates)])
            chunk = carried
        chunk.append(item)
    if chunk:
        found.append([*chunk, next(mates)])
    return found


def invoke(stack: LocalStack, role: str, event: Any) -> dict[str, Any]:
    assert stack.topology is not None
    result = stack.invoke(stack.topology.function_of(role), event)
    assert result.status is InvocationStatus.RETURNED, (role, result.error_type)
    assert isinstance(result.response, dict)
    return result.response


def send_batch(stack: LocalStack, role: str, batch: Sequence[Sent], **attributes: str) -> None:
    """One invocation of the function polling `role`, with these records; every one is answered."""
    assert stack.topology is not None
    arn = stack.topology.queue(role).arn
    response = invoke(stack, role, {"Records": [record_of(s, arn, **attributes) for s in batch]})
    assert response == {"batchItemFailures": []}, [
        s.name if isinstance(s, Hostile) else s.request_id for s in batch
    ]


def put_events(stack: LocalStack, items: Sequence[Sent], requests_bus: str) -> None:
    for item in items:
        if isinstance(item, Hostile):
            entry = dict(item.event)
        else:
            entry = {"Source": LOCAL_SOURCE, "DetailType": "ImageSetMetadataUpdate.Requested"}
            entry |= {"Detail": item.body, "EventBusName": requests_bus}
        answer = stack.aws.events.put_events(Entries=[entry])
        assert answer["FailedEntryCount"] == 0, answer


def drain_rules(stack: LocalStack, wanted: Sequence[str]) -> list[dict[str, Any]]:
    """What the rules delivered to the rules queue that holds one of `wanted` (markers or good
    requestIds), deleted as read; anything else (the emulator's own events) is dropped."""
    assert stack.topology is not None
    url = stack.topology.queue("rules").url
    found: list[dict[str, Any]] = []
    quiet_polls = 0
    while quiet_polls < 2:
        messages = stack.aws.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
        quiet_polls = 0 if messages else quiet_polls + 1
        found += [m for m in messages if any(w in m["Body"] for w in wanted)]
        if messages:
            stack.aws.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
    return found


def invoke_with_received(stack: LocalStack, messages: Sequence[dict[str, Any]]) -> None:
    assert stack.topology is not None
    arn = stack.topology.queue("rules").arn
    for start in range(0, len(messages), BATCH_SIZE):
        event = lambda_sqs_event(messages[start : start + BATCH_SIZE], arn)
        assert invoke(stack, "rules", event) == {"batchItemFailures": []}


def write_import_output(stack: LocalStack, datastore_id: str, job_id: str, failed: Sequence[str]) -> None:
    """The job's manifests in moto's S3, as HealthImaging writes them (failures only)."""
    s3 = stack.moto.client("s3")
    bucket = "healthimaging-test-bucket"
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    lines = [
        json.dumps({"inputFile": name, "exception": {"exceptionType": "DICOM_PARSE"}}) for name in failed
    ]
    key = f"hostile-output/{datastore_id}-DicomImport-{job_id}/FAILURE/failure.ndjson"
    s3.put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode())


def of_route(items: Sequence[Sent], *routes: Route) -> list[Sent]:
    return [s for s in items if s.route in routes]
