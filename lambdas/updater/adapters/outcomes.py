"""OutcomePublisher (EventBridge) and FailureQueue (the DLQ that keeps failed requests with their reason)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from updater.domain.errors import RetryableServiceError
from updater.domain.outcome import SOURCE, UpdateOutcome


class OutcomePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, outcome: UpdateOutcome) -> None:
        self.publish_detail(outcome.detail_type(), outcome.model_dump(mode="json", by_alias=True))

    def publish_detail(self, detail_type: str, detail: dict[str, Any]) -> None:
        answer = self._client.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "EventBusName": self._bus,
                    "Resources": [],
                }
            ]
        )
        if answer.get("FailedEntryCount", 0):
            # PutEvents reports per-entry failures in a 200 answer; treat them like a transient error.
            raise RetryableServiceError("PutEventsFailedEntry", "outcome event not accepted")


class FailureQueue:
    """Puts a failed request's original body in the DLQ, its reason in message attributes."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, body: str, *, request_id: str | None, code: str, message: str) -> None:
        attributes: dict[str, dict[str, str]] = {
            "failureCode": {"DataType": "String", "StringValue": code},
            "failureMessage": {"DataType": "String", "StringValue": message[:1000] or code},
        }
        if request_id:
            attributes["requestId"] = {"DataType": "String", "StringValue": request_id}
        self._client.send_message(QueueUrl=self._url, MessageBody=body, MessageAttributes=attributes)


@dataclass(frozen=True)
class QueueCopy:
    """A fresh copy of a received message (receive count 1) that replaces the original."""

    message_id: str
    body: str
    receipt_handle: str
    renewals: int
    delay_s: int = 0  # standard queues only: FIFO queues have no per-message delay
    group_id: str | None = None  # FIFO queues: the original's group, and a deduplication id
    dedup_id: str = ""


class RequestRequeue:
    """Hands a request back to its queue to be picked up later (waiting for a token or for a settle)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._urls: dict[str, str] = {}

    def queue_url(self, queue_arn: str) -> str:
        if queue_arn not in self._urls:
            name = queue_arn.rsplit(":", 1)[-1]
            account = queue_arn.split(":")[4]
            answer = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._urls[queue_arn] = str(answer["QueueUrl"])
        return self._urls[queue_arn]

    def requeue(
        self,
        queue_url: str,
        body: str,
        *,
        delay_s: int,
        group_id: str | None,
        dedup_id: str,
        renewals: int = 0,
    ) -> None:
        message = _message(body, renewals, delay_s=delay_s, group_id=group_id, dedup_id=dedup_id)
        self._client.send_message(QueueUrl=queue_url, **message)

    def replace(self, queue_url: str, copies: list[QueueCopy]) -> set[str]:
        """Fresh copies of the messages, then the originals deleted: two batch calls per ten
        messages, so that a slow moment cannot stop a batch's copies half-way and an invocation
        that dies later does not bring the originals back beside their copies. Returns the message
        ids replaced (a copy that was not sent keeps its original)."""
        replaced: set[str] = set()
        for start in range(0, len(copies), 10):
            chunk = {str(i): c for i, c in enumerate(copies[start : start + 10])}
            answer = self._client.send_message_batch(
                QueueUrl=queue_url, Entries=[_entry(entry_id, c) for entry_id, c in chunk.items()]
            )
            sent = [chunk[entry["Id"]] for entry in answer.get("Successful", [])]
            self.delete(queue_url, [c.receipt_handle for c in sent])
            replaced.update(c.message_id for c in sent)
        return replaced

    def delete(self, queue_url: str, receipt_handles: list[str]) -> None:
        """Deletes messages whose work is done now, not when the batch response reaches SQS: an
        invocation that dies later must not leave them to come back and be moved to the DLQ."""
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start : start + 10]
            self._client.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)],
            )


def _entry(entry_id: str, copy: QueueCopy) -> dict[str, Any]:
    # A FIFO batch keeps its entries' order within a group.
    message = _message(
        copy.body, copy.renewals, delay_s=copy.delay_s, group_id=copy.group_id, dedup_id=copy.dedup_id
    )
    return {"Id": entry_id, **message}


def _message(
    body: str, renewals: int, *, delay_s: int, group_id: str | None, dedup_id: str
) -> dict[str, Any]:
    """One handed-back message, for SendMessage or an entry of SendMessageBatch."""
    message: dict[str, Any] = {"MessageBody": body, "MessageAttributes": _handed_back(renewals)}
    if group_id is None:
        message["DelaySeconds"] = max(0, min(900, delay_s))  # SQS caps a message delay at 15 minutes
    else:  # FIFO queues have no per-message delay
        message["MessageGroupId"] = group_id
        message["MessageDeduplicationId"] = dedup_id
    return message


def _handed_back(renewals: int) -> dict[str, dict[str, str]]:
    attributes = {"handedBack": {"DataType": "String", "StringValue": "true"}}
    if renewals:  # carried along, so hand-backs cannot reset the bound on attempts
        attributes["renewals"] = {"DataType": "Number", "StringValue": str(renewals)}
    return attributes


def body_text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)
