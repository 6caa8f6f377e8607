"""Records reached after the time reserve are handed back together at the end of the batch.

The 2,000-request soak handed back 1,067 records for time, each with its own SQS call inside the
reserve, one after another: on a loaded host invocations overran, lost their batch responses, and
every original came back beside its copy. Now the copies go out as one SendMessageBatch per ten
records, and their originals are deleted in one DeleteMessageBatch, on the real moto server.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pydicom.data import get_testdata_file

from local.lambda_context import LocalLambdaContext
from local.sqs_lambda_event import lambda_sqs_event
from local.stack import LocalStack, LocalStackOptions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"tback{uuid.uuid4().hex[:6]}-",
        function_timeout_s=30,
        extra_environment={"TIME_RESERVE_MS": "1000"},
    )
    running = LocalStack(options).start(start_pollers=False)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sqs_calls(runtime: Any) -> Iterator[list[tuple[str, int]]]:
    """The SQS operations the updater's client makes, with how many entries each carried."""
    calls: list[tuple[str, int]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, len(params.get("Entries", [None]))))

    events = runtime.clients.sqs.meta.events
    events.register("provide-client-params.sqs", record, unique_id="time-hand-back-calls")
    yield calls
    events.unregister("provide-client-params.sqs", unique_id="time-hand-back-calls")


def request_body(stack: LocalStack, index: int) -> str:
    """An update to an image set of its own, so that no two requests of a batch are coalesced."""
    (image_set_id,) = stack.emulator.service.import_dicom_files(
        stack.datastore_id, [str(get_testdata_file("CT_small.dcm"))]
    )
    document = {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": f"LATE-{index}"}}}
    return json.dumps(
        {
            "datastoreId": stack.datastore_id,
            "imageSetId": image_set_id,
            "requestId": f"late-{index}-{uuid.uuid4().hex[:6]}",
            "DICOMUpdates": {"updatableAttributes": document},
        }
    )


def batch_of(
    stack: LocalStack, role: str, bodies: list[str], fifo_group: str | None = None
) -> dict[str, Any]:
    assert stack.topology is not None
    queue = stack.topology.queue(role)
    for body in bodies:
        extra = (
            {}
            if fifo_group is None
            else {"MessageGroupId": fifo_group, "MessageDeduplicationId": uuid.uuid4().hex}
        )
        stack.aws.sqs.send_message(QueueUrl=queue.url, MessageBody=body, **extra)
    return lambda_sqs_event(receive(stack, queue.url, len(bodies), visibility_s=3), queue.arn)


def receive(
    stack: LocalStack, queue_url: str, count: int, visibility_s: int, wait_s: float = 10
) -> list[Any]:
    messages: list[dict[str, Any]] = []
    give_up_at = time.monotonic() + wait_s
    while len(messages) < count and time.monotonic() < give_up_at:
        answer = stack.aws.sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility_s,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages.extend(answer.get("Messages", []))
    return messages


def out_of_time() -> LocalLambdaContext:
    """Earlier records used the invocation: less than the time reserve is left for these."""
    return LocalLambdaContext("updater", "512", timeout_s=0.5)


def clear(stack: LocalStack, queue_url: str, messages: list[dict[str, Any]]) -> None:
    for message in messages:  # leave the queue empty for the module's other tests
        stack.aws.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_records_out_of_time_go_back_in_batched_calls_and_their_originals_are_deleted(
    stack: LocalStack, runtime: Any, sqs_calls: list[tuple[str, int]]
) -> None:
    from updater.handler import handle  # noqa: PLC0415

    assert stack.topology is not None
    bodies = [request_body(stack, index) for index in range(12)]
    event = batch_of(stack, "ingest", bodies)

    response = handle(event, out_of_time(), runtime)

    assert response["batchItemFailures"] == []
    sends = [call for call in sqs_calls if call[0].startswith("SendMessage")]
    deletes = [call for call in sqs_calls if call[0].startswith("DeleteMessage")]
    assert sorted(sends) == [("SendMessageBatch", 2), ("SendMessageBatch", 10)]
    assert sorted(deletes) == [("DeleteMessageBatch", 2), ("DeleteMessageBatch", 10)]
    # Past the originals' visibility (3 s): only the copies are there, each received once.
    time.sleep(3.5)
    url = stack.topology.queue("ingest").url
    back = receive(stack, url, 13, visibility_s=30, wait_s=4)
    clear(stack, url, back)
    assert sorted(m["Body"] for m in back) == sorted(bodies)
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back} == {"1"}
    assert {m["MessageAttributes"]["handedBack"]["StringValue"] for m in back} == {"true"}
    original_ids = {record["messageId"] for record in event["Records"]}
    assert not original_ids & {m["MessageId"] for m in back}


def test_a_fifo_group_out_of_time_goes_back_in_its_order(
    stack: LocalStack, runtime: Any, sqs_calls: list[tuple[str, int]]
) -> None:
    from updater.handler import handle  # noqa: PLC0415

    assert stack.topology is not None
    bodies = [request_body(stack, index) for index in range(3)]
    event = batch_of(stack, "fifo_ingest", bodies, fifo_group="one-patient")

    response = handle(event, out_of_time(), runtime)

    assert response["batchItemFailures"] == []
    assert [call for call in sqs_calls if call[0].startswith("SendMessage")] == [("SendMessageBatch", 3)]
    url = stack.topology.queue("fifo_ingest").url
    back = receive(stack, url, 3, visibility_s=30)
    clear(stack, url, back)
    assert [m["Body"] for m in back] == bodies
    assert {m["Attributes"]["MessageGroupId"] for m in back} == {"one-patient"}


def test_records_whose_copies_could_not_be_sent_are_failed_and_come_back(
    stack: LocalStack, runtime: Any
) -> None:
    from updater.adapters.outcomes import RequestRequeue  # noqa: PLC0415
    from updater.handler import handle  # noqa: PLC0415

    assert stack.topology is not None
    with socket.socket() as free:  # a port nothing listens on: SQS unreachable for the hand-back
        free.bind(("127.0.0.1", 0))
        dead_endpoint = f"http://127.0.0.1:{free.getsockname()[1]}"
    unreachable = boto3.client("sqs", endpoint_url=dead_endpoint)
    cut_off = dataclasses.replace(runtime, requeue=RequestRequeue(unreachable))
    bodies = [request_body(stack, index) for index in range(2)]
    event = batch_of(stack, "ingest", bodies)

    response = handle(event, out_of_time(), cut_off)

    ids = sorted(record["messageId"] for record in event["Records"])
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ids
    time.sleep(3.5)  # the originals' visibility: they come back as they were, no copies beside them
    url = stack.topology.queue("ingest").url
    back = receive(stack, url, 3, visibility_s=30, wait_s=4)
    clear(stack, url, back)
    assert sorted(m["MessageId"] for m in back) == ids
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back} == {"2"}
