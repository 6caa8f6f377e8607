"""SQS's FIFO guarantees in moto's SQS, where the lane's order and exclusivity depend on them.

moto 5.2 departs from SQS on FIFO queues in three ways the 2,000-request soak met:

- **Which messages a receive may take.** SQS hands out a group's messages in order, each only while
  no earlier message of its group is in flight: a receive takes a group's visible messages up to
  the first one that is not (AWS behaviour as LocalStack documents it in localstack#13386: earlier
  messages of the group stay receivable even while a later one's visibility was extended). moto
  decides per group from its "pending" set, which a hide, a wait ending or a skipped walk leaves
  out of step with what is in flight; the soak saw a group's later requests delivered while an
  earlier one was hidden, and a group's fourth request before its second.
- **Receipt handles.** On a FIFO queue a handle is good only for the receive that issued it and
  only while that receive's visibility window lasts; afterwards SQS refuses it ("The receipt handle
  has expired", aws/aws-sdk-js#1750). moto applies any handle a message ever had, so a late or
  retried ChangeMessageVisibility (a wait, or a wake after a settle notice) could hide a message
  nobody held, or make visible one another delivery holds.
- **Deduplication.** SQS remembers a MessageDeduplicationId for five minutes; moto compares only
  with messages still in the queue, so a send repeated after its first copy was deleted was taken
  twice.

`install()` (called by `local.moto_sqs_receive.install`, in moto's own process) replaces those
three; standard queues keep moto's behaviour.
"""

from __future__ import annotations

import threading
from copy import deepcopy

from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import (
    DEDUPLICATION_TIME_IN_SECONDS,
    Message,
    Queue,
    SQSBackend,
    _filter_message_attributes,
)


class ReceiptHandleExpired(ReceiptHandleIsInvalid):
    """A ReceiptHandleIsInvalid, so that moto's batch calls report it as a failed entry."""

    def __init__(self) -> None:
        super().__init__()
        self.message = "The receipt handle has expired."
        self.description = self.message


def receive(
    queue: Queue, count: int, visibility_timeout: int | None, attribute_names: list[str] | None
) -> list[Message]:
    """One walk of a FIFO queue in send order (the caller holds the queue's receive lock)."""
    taken: list[Message] = []
    held: set[str | None] = set()  # groups with an earlier message that is not available
    to_dlq: list[Message] = []
    redrive = queue.redrive_policy if queue.dead_letter_queue is not None else None
    for message in list(queue._messages):
        if len(taken) >= count:
            break
        if message.group_id in held:
            continue
        if message.delayed or not message.visible:
            held.add(message.group_id)
            continue
        if redrive and message.approximate_receive_count >= redrive["maxReceiveCount"]:
            to_dlq.append(message)  # gone from the group: its next message may follow
            continue
        message.mark_received(visibility_timeout=visibility_timeout)
        answer = deepcopy(message)  # the answer's attributes are filtered, not the message's
        _filter_message_attributes(answer, attribute_names or [])
        taken.append(answer)
    for message in to_dlq:
        queue._messages.remove(message)
        queue.dead_letter_queue.add_message(message)  # type: ignore[union-attr]
    return taken


def check_holder(queue: Queue, receipt_handle: str) -> None:
    """Raises unless the handle is its message's latest and that receive's window is still open."""
    for message in list(queue._messages):
        if message.receipt_handle == receipt_handle:
            if message.visible:
                raise ReceiptHandleExpired
            return
        if message.had_receipt_handle(receipt_handle):
            raise ReceiptHandleExpired
    # Unknown handles are left to moto (ReceiptHandleIsInvalid, or an already deleted message).


def install() -> None:
    change_visibility = SQSBackend.change_message_visibility
    delete = SQSBackend.delete_message
    add = Queue.add_message
    if getattr(add, "fifo_deduplication", False):
        return

    def change_message_visibility(
        self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        queue = self.get_queue(queue_name)
        if queue.fifo_queue:
            check_holder(queue, receipt_handle)
        change_visibility(self, queue_name, receipt_handle, visibility_timeout)

    def delete_message(self: SQSBackend, queue_name: str, receipt_handle: str) -> None:
        queue = self.get_queue(queue_name)
        if queue.fifo_queue and receipt_handle not in queue.deleted_messages:
            check_holder(queue, receipt_handle)
        delete(self, queue_name, receipt_handle)

    seen: dict[tuple[str, str], float] = {}
    guard = threading.Lock()

    def add_message(self: Queue, message: Message) -> None:
        # A message moved to a DLQ (it was received) is not a send: SQS does not deduplicate it.
        if not self.fifo_queue or not message.deduplication_id or message.approximate_receive_count:
            add(self, message)
            return
        key, sent_s = (self.queue_arn, message.deduplication_id), int(message.sent_timestamp or 0) / 1000
        with guard:
            first_s = seen.get(key)
            if first_s is not None and sent_s - first_s < DEDUPLICATION_TIME_IN_SECONDS:
                return
            seen[key] = sent_s
            add(self, message)

    add_message.fifo_deduplication = True  # type: ignore[attr-defined]
    SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]
    SQSBackend.delete_message = delete_message  # type: ignore[method-assign]
    Queue.add_message = add_message  # type: ignore[method-assign]
