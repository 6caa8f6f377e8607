"""LaneSends: a batch's lane messages sent together; the records whose messages SQS did not take."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import EndpointConnectionError

from updater.adapters.lane import LaneQueue


class SqsAnswering:
    """SendMessageBatch answered as SQS answers it: per-entry failures in a 200 answer, or an error."""

    def __init__(
        self, refuse_bodies: frozenset[str] = frozenset(), fail_calls: frozenset[int] = frozenset()
    ) -> None:
        self.refuse_bodies = refuse_bodies
        self.fail_calls = fail_calls
        self.calls: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append([entry["MessageBody"] for entry in Entries])
        if len(self.calls) in self.fail_calls:
            raise EndpointConnectionError(endpoint_url=QueueUrl)
        refused = [e for e in Entries if e["MessageBody"] in self.refuse_bodies]
        return {
            "Successful": [{"Id": e["Id"]} for e in Entries if e not in refused],
            "Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in refused],
        }


def test_the_messages_of_a_batch_go_in_order_ten_to_a_call() -> None:
    sqs = SqsAnswering()
    sends = LaneQueue(sqs, "https://sqs.example/lane.fifo").batch()
    for n in range(12):
        sends.of(f"record-{n}").send(f"group-{n % 3}", f"request-{n}", f"body-{n}")
    assert sends.holds("record-11") and not sends.holds("record-12")
    assert sends.flush() == set()
    assert sqs.calls == [[f"body-{n}" for n in range(10)], ["body-10", "body-11"]]
    assert not sends.holds("record-0")  # sent: nothing held


def test_the_records_whose_messages_were_refused_or_lost_with_a_call_are_named() -> None:
    sqs = SqsAnswering(refuse_bodies=frozenset({"body-3"}), fail_calls=frozenset({2}))
    sends = LaneQueue(sqs, "https://sqs.example/lane.fifo").batch()
    for n in range(12):
        sends.of(f"record-{n}").send("group", f"request-{n}", f"body-{n}")
    sends.of("record-0").send("group", "child", "body-child")  # a record may send several
    assert sends.flush() == {"record-3", "record-10", "record-11", "record-0"}
