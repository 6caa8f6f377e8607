"""Reading an SQS queue without consuming it.

SQS has no peek: a receive hides what it returns for the visibility timeout, and a receive with a
visibility timeout of 0 keeps answering with the same first messages, so it cannot walk a queue.
A walk therefore hides each batch for a short while (the next receive returns others) and then
makes every message it holds visible again. Two consequences, both fine for the queues read here:
a reader walking at the same moment misses what this walk holds, and each receive counts toward
ApproximateReceiveCount, so a queue with a redrive policy must never be walked (its messages would
move to the DLQ early). FIFO queues hand out a message group only while none of it is held, so a
walk may see a group's first messages only: compare with `depth()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Long enough for one walk and what the caller does with the held messages; short enough that a
# crashed walk leaves a message hidden only briefly.
HOLD_S = 20
MAX_BATCHES = 100  # 1,000 messages: an operator's view, not an export


@dataclass(frozen=True)
class QueuedMessage:
    message_id: str
    body: str
    attributes: dict[str, str]  # the message attributes with string values
    sent_at_ms: int
    receipt_handle: str = field(repr=False)


@dataclass
class HeldMessages:
    """Messages a walk holds hidden; the ones not deleted become visible again when the walk ends."""

    sqs: Any
    queue_url: str
    messages: list[QueuedMessage]
    deleted: set[str] = field(default_factory=set)

    def delete(self, message: QueuedMessage) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message.receipt_handle)
        self.deleted.add(message.message_id)

    def release(self) -> None:
        kept = [m for m in self.messages if m.message_id not in self.deleted]
        for start in range(0, len(kept), 10):
            entries = [
                {"Id": str(number), "ReceiptHandle": message.receipt_handle, "VisibilityTimeout": 0}
                for number, message in enumerate(kept[start : start + 10])
            ]
            self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)


def _queued(message: dict[str, Any]) -> QueuedMessage:
    attributes = {
        name: str(value.get("StringValue", ""))
        for name, value in message.get("MessageAttributes", {}).items()
        if "StringValue" in value
    }
    return QueuedMessage(
        message_id=message["MessageId"],
        body=message.get("Body", ""),
        attributes=attributes,
        sent_at_ms=int(message.get("Attributes", {}).get("SentTimestamp", 0)),
        receipt_handle=message["ReceiptHandle"],
    )


@contextmanager
def held_messages(sqs: Any, queue_url: str, *, hold_s: int = HOLD_S) -> Iterator[HeldMessages]:
    """Every message visible now, held hidden while the block runs, oldest first."""
    held = HeldMessages(sqs, queue_url, [])
    try:
        for _ in range(MAX_BATCHES):
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=hold_s,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["SentTimestamp"],
            ).get("Messages", [])
            if not batch:
                break
            held.messages.extend(_queued(message) for message in batch)
        held.messages.sort(key=lambda message: message.sent_at_ms)
        yield held
    finally:
        held.release()


def peek(sqs: Any, queue_url: str) -> list[QueuedMessage]:
    """Every message visible now, left on the queue (visible again when this returns)."""
    with held_messages(sqs, queue_url) as held:
        return list(held.messages)


def depth(sqs: Any, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages, as SQS approximates them: what a walk should have seen."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
