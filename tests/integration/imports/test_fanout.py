from __future__ import annotations

import uuid
from typing import Any

import pytest

from local.moto_stack import MotoServer
from tests.integration.imports.conftest import drain
from updater.imports.fanout import FanoutIncomplete, RequestFanout
from updater.imports.planner import import_request_id

DATASTORE_ID = "bbc4f3cccbae4095a34170fddc19b13d"
JOB_ID = "a6a1d220f152e7aab6d8925d995d8b76"


@pytest.fixture
def sqs(moto_server: MotoServer) -> Any:
    """A client of its own: these tests hook into its event system."""
    return moto_server.client("sqs")


def update_request(n: int) -> dict[str, Any]:
    image_set_id = f"{n:032x}"
    return {
        "datastoreId": DATASTORE_ID,
        "imageSetId": image_set_id,
        "requestId": import_request_id(JOB_ID, image_set_id, "rule:institution"),
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": "DOE^JANE"}}}
        },
    }


def test_requests_go_out_in_batches_and_arrive_unchanged(sqs: Any, queue_url: str) -> None:
    requests = [update_request(n) for n in range(23)]
    calls: list[int] = []
    sqs.meta.events.register(
        "provide-client-params.sqs.SendMessageBatch", lambda params, **_: calls.append(len(params["Entries"]))
    )

    sent = RequestFanout(sqs, queue_url).send(requests)

    assert sent == 23
    assert calls == [10, 10, 3]
    assert sorted(drain(sqs, queue_url), key=lambda r: r["imageSetId"]) == requests


def test_nothing_to_send_makes_no_call(sqs: Any, queue_url: str) -> None:
    assert RequestFanout(sqs, queue_url).send([]) == 0
    assert drain(sqs, queue_url) == []


def test_a_fifo_queue_orders_per_image_set_and_dedups_by_request_id(sqs: Any) -> None:
    queue_url = sqs.create_queue(
        QueueName=f"ingest-{uuid.uuid4().hex[:12]}.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    request = update_request(1)

    RequestFanout(sqs, queue_url).send([request, request])

    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"]
    )["Messages"]
    assert len(messages) == 1
    assert messages[0]["Attributes"]["MessageGroupId"] == request["imageSetId"]


class FailFirstEntries:
    """Marks the first entries of the first response(s) as failed, as SQS does under partial failure."""

    def __init__(self, *, sender_fault: bool, times: int) -> None:
        self.sender_fault = sender_fault
        self.times = times

    def __call__(self, parsed: dict[str, Any], **_: Any) -> None:
        if self.times == 0 or not parsed.get("Successful"):
            return
        self.times -= 1
        entry = parsed["Successful"].pop(0)
        failure = {
            "Id": entry["Id"],
            "SenderFault": self.sender_fault,
            "Code": "InternalError",
            "Message": "x",
        }
        parsed.setdefault("Failed", []).append(failure)


def test_failed_entries_are_retried_with_backoff(sqs: Any, queue_url: str) -> None:
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", FailFirstEntries(sender_fault=False, times=2))
    pauses: list[float] = []

    sent = RequestFanout(sqs, queue_url, sleep=pauses.append).send([update_request(n) for n in range(3)])

    assert sent == 3
    assert pauses == [0.2, 0.4]
    # SQS may have taken an entry it reported failed: the retried copy carries the same requestId.
    assert {body["requestId"] for body in drain(sqs, queue_url)} == {
        update_request(n)["requestId"] for n in range(3)
    }


def test_entries_that_keep_failing_or_are_the_senders_fault_fail_the_fanout(sqs: Any, queue_url: str) -> None:
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", FailFirstEntries(sender_fault=True, times=1))
    requests = [update_request(n) for n in range(12)]

    with pytest.raises(FanoutIncomplete) as caught:
        RequestFanout(sqs, queue_url, sleep=lambda _: None).send(requests)

    assert caught.value.request_ids == [requests[0]["requestId"]]
    assert caught.value.codes == ["InternalError"]


def test_retries_are_bounded(sqs: Any, queue_url: str) -> None:
    sqs.meta.events.register(
        "after-call.sqs.SendMessageBatch", FailFirstEntries(sender_fault=False, times=99)
    )

    with pytest.raises(FanoutIncomplete) as caught:
        RequestFanout(sqs, queue_url, max_attempts=3, sleep=lambda _: None).send([update_request(1)])

    assert caught.value.codes == ["RetriesExhausted"]
