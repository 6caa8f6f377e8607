"""LaneQueue: the per-image-set FIFO queue between intake and apply.

Intake sends each valid request with MessageGroupId = image set id (one delivery at a time per
image set, in order) and MessageDeduplicationId = requestId (a request forwarded twice within five
minutes is taken once). Apply makes a message wait by hiding it (ChangeMessageVisibility): a hidden
message still holds its group, so the image set's later requests wait behind it, in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from updater.domain.errors import RetryableServiceError

SQS_BATCH_LIMIT = 10
MAX_VISIBILITY_S = 43_200  # SQS: 12 hours


@contextmanager
def _sqs() -> Iterator[None]:
    try:
        yield
    except ClientError as err:
        raise RetryableServiceError(
            str(err.response.get("Error", {}).get("Code", "SQS")), "queue call failed"
        ) from err
    except BotoCoreError as err:
        raise RetryableServiceError(type(err).__name__, "queue unreachable") from err


class LaneQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, group_id: str, dedup_id: str, body: str) -> None:
        with _sqs():
            self._client.send_message(
                QueueUrl=self._url, MessageBody=body, MessageGroupId=group_id, MessageDeduplicationId=dedup_id
            )

    def send_each(self, messages: Sequence[tuple[str, str, str]]) -> list[bool]:
        """In order, ten per call: whether each was taken (a call that failed took none of its ten)."""
        taken: list[bool] = []
        for start in range(0, len(messages), SQS_BATCH_LIMIT):
            chunk = messages[start : start + SQS_BATCH_LIMIT]
            entries = [
                {"Id": str(i), "MessageBody": body, "MessageGroupId": group, "MessageDeduplicationId": dedup}
                for i, (group, dedup, body) in enumerate(chunk)
            ]
            try:
                with _sqs():
                    answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except RetryableServiceError:
                taken.extend([False] * len(chunk))
                continue
            ok = {entry["Id"] for entry in answer.get("Successful", [])}
            taken.extend(str(i) in ok for i in range(len(chunk)))
        return taken

    def batch(self) -> LaneSends:
        return LaneSends(self)

    def wake(self, receipt_handles: Sequence[str]) -> None:
        """Waiting lane messages visible now (a settle notice came): best effort, since a message
        not woken still comes back when its wait ends."""
        for start in range(0, len(receipt_handles), SQS_BATCH_LIMIT):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(receipt_handles[start : start + SQS_BATCH_LIMIT])
            ]
            with _sqs():
                self._client.change_message_visibility_batch(QueueUrl=self._url, Entries=entries)


class LaneSends:
    """The lane messages of one intake batch, sent together after it (SendMessageBatch, ten to a
    call, in the order given) instead of one SendMessage per record: a batch of ten requests made
    ten calls in a row. `of(key)` is the Lane one record forwards through; `flush` sends and
    names the records whose messages were not all taken (they fail, and come back)."""

    def __init__(self, queue: LaneQueue) -> None:
        self._queue = queue
        self._messages: list[tuple[str, tuple[str, str, str]]] = []

    def of(self, key: str) -> _RecordSends:
        return _RecordSends(self, key)

    def holds(self, key: str) -> bool:
        """Whether a message of `key`'s record waits to be sent."""
        return any(held == key for held, _ in self._messages)

    def add(self, key: str, message: tuple[str, str, str]) -> None:
        self._messages.append((key, message))

    def flush(self) -> set[str]:
        messages, self._messages = self._messages, []
        taken = self._queue.send_each([message for _, message in messages])
        return {key for (key, _), ok in zip(messages, taken, strict=True) if not ok}


class _RecordSends:
    def __init__(self, sends: LaneSends, key: str) -> None:
        self._sends = sends
        self._key = key

    def send(self, group_id: str, dedup_id: str, body: str) -> None:
        self._sends.add(self._key, (group_id, dedup_id, body))


class QueueVisibility:
    """Hides received messages for a while (waits), on whichever queue they came from."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._urls: dict[str, str] = {}

    def url(self, queue_arn: str) -> str:
        if queue_arn not in self._urls:
            _, _, _, _, account, name = queue_arn.split(":", 5)
            with _sqs():
                answer = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._urls[queue_arn] = str(answer["QueueUrl"])
        return self._urls[queue_arn]

    def hide(self, queue_arn: str, waits: Sequence[tuple[str, int]]) -> int:
        """(receipt handle, seconds) each; returns how many were hidden. A message that could not
        be hidden comes back after the queue's visibility timeout instead, which is only later."""
        if not waits:
            return 0
        url = self.url(queue_arn)
        hidden = 0
        for start in range(0, len(waits), SQS_BATCH_LIMIT):
            chunk = waits[start : start + SQS_BATCH_LIMIT]
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": max(0, min(MAX_VISIBILITY_S, s))}
                for i, (handle, s) in enumerate(chunk)
            ]
            with _sqs():
                answer = self._client.change_message_visibility_batch(QueueUrl=url, Entries=entries)
            hidden += len(answer.get("Successful", []))
        return hidden
