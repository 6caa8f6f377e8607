"""moto's FIFO queues keep SQS's group guarantees (local.moto_sqs_fifo): a group's messages are
received in order, none while an earlier one is in flight; a receipt handle expires with its
visibility window; a deduplication id is remembered for five minutes, deleted message or not.

Without these, moto let a hide by an expired receipt handle make a message invisible without
being in flight: its group looked free, and the group's later messages were delivered before it
(the soak's "per-image-set order on the FIFO path" failures).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from local.moto_stack import AwsClients

WINDOW_S = 1


def _fifo(aws: AwsClients) -> str:
    name = f"fifo-{uuid.uuid4().hex[:8]}.fifo"
    return str(aws.sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"])


def _send(aws: AwsClients, url: str, *bodies: str, group: str = "g") -> None:
    for body in bodies:
        aws.sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body
        )


def _receive(aws: AwsClients, url: str, count: int = 10, visibility_s: int = 30) -> list[dict[str, Any]]:
    answer = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, VisibilityTimeout=visibility_s)
    return list(answer.get("Messages", []))


def _bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [m["Body"] for m in messages]


def _expire(seconds: float = WINDOW_S + 0.3) -> None:
    time.sleep(seconds)


def test_a_hide_by_an_expired_receipt_handle_is_refused_and_the_group_keeps_its_order(
    aws: AwsClients,
) -> None:
    url = _fifo(aws)
    _send(aws, url, "other", group="o")
    _send(aws, url, "first", "second")
    _other, first = _receive(aws, url, count=2, visibility_s=WINDOW_S)
    _expire()  # "first" is visible again: its handle has expired
    assert _bodies(_receive(aws, url, count=1)) == ["other"]  # a receive that passes "first" by

    with pytest.raises(aws.sqs.exceptions.ClientError) as refused:
        aws.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=30
        )

    assert "expired" in str(refused.value)
    assert _bodies(_receive(aws, url)) == ["first", "second"]  # moto had hidden "first", sent "second"


def test_a_batch_hide_reports_an_expired_handle_as_failed_and_hides_the_current_one(aws: AwsClients) -> None:
    url = _fifo(aws)
    _send(aws, url, "one")
    (stale,) = _receive(aws, url, visibility_s=WINDOW_S)
    _expire()
    (current,) = _receive(aws, url, visibility_s=WINDOW_S)

    answer = aws.sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "stale", "ReceiptHandle": stale["ReceiptHandle"], "VisibilityTimeout": 30},
            {"Id": "current", "ReceiptHandle": current["ReceiptHandle"], "VisibilityTimeout": 30},
        ],
    )

    assert [f["Id"] for f in answer.get("Failed", [])] == ["stale"]
    assert [s["Id"] for s in answer["Successful"]] == ["current"]
    _expire()
    assert _receive(aws, url) == []  # hidden for 30 s by the current handle


def test_while_a_received_message_is_hidden_nothing_else_of_its_group_is_delivered(aws: AwsClients) -> None:
    url = _fifo(aws)
    _send(aws, url, "a1", "a2", "a3")
    _send(aws, url, "b1", group="other")
    first, second = _receive(aws, url, count=2, visibility_s=30)
    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    aws.sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=WINDOW_S
    )

    assert _bodies(_receive(aws, url)) == ["b1"]  # a2 hidden, a3 behind it
    _expire()
    assert _bodies(_receive(aws, url)) == ["a2", "a3"]


def test_a_delete_by_an_expired_receipt_handle_leaves_the_message(aws: AwsClients) -> None:
    url = _fifo(aws)
    _send(aws, url, "kept")
    (message,) = _receive(aws, url, visibility_s=WINDOW_S)
    _expire()

    answer = aws.sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": message["ReceiptHandle"]}]
    )

    assert [f["Id"] for f in answer.get("Failed", [])] == ["0"]
    assert _bodies(_receive(aws, url)) == ["kept"]


def test_a_deduplication_id_is_remembered_after_its_message_was_deleted(aws: AwsClients) -> None:
    url = _fifo(aws)
    _send(aws, url, "once")
    (message,) = _receive(aws, url)
    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    _send(aws, url, "once", "next")

    assert _bodies(_receive(aws, url)) == ["next"]


def test_earlier_messages_of_a_group_stay_receivable_while_a_later_ones_wait_is_extended(
    aws: AwsClients,
) -> None:
    url = _fifo(aws)
    _send(aws, url, "a1", "a2", "a3")
    _one, two, _three = _receive(aws, url, count=3, visibility_s=WINDOW_S)
    aws.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=two["ReceiptHandle"], VisibilityTimeout=30)
    _expire()

    assert _bodies(_receive(aws, url)) == ["a1"]  # a3 stays behind a2, whose wait goes on
