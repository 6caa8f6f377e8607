"""Fans planned UpdateRequests out through the ingest queue, so they take the standard path.

SendMessageBatch takes 10 entries per call and may fail some entries while accepting the rest; those
are retried (with a short backoff) unless SQS blames the sender, which no retry can fix. A request
that still fails makes the whole reaction fail and be retried: request ids are deterministic, so the
requests that did go through are not applied twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from updater.imports.reaction import react_to_import_completed
from updater.imports.summary import ImportSummary

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

__all__ = ["FanoutIncomplete", "ImportSummary", "RequestFanout", "react_to_import_completed"]

SQS_BATCH_LIMIT = 10


class FanoutIncomplete(Exception):
    """Some requests could not be enqueued; `request_ids` names them (ids only)."""

    def __init__(self, request_ids: list[str], codes: list[str]) -> None:
        self.request_ids = request_ids
        self.codes = codes
        super().__init__(f"{len(request_ids)} update requests not enqueued ({', '.join(sorted(set(codes)))})")


class RequestFanout:
    """Adapter: enqueues native UpdateRequest dicts on the ingest queue."""

    def __init__(
        self,
        sqs_client: SQSClient,
        queue_url: str,
        *,
        max_attempts: int = 4,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sqs = sqs_client
        self._queue_url = queue_url
        self._fifo = queue_url.endswith(".fifo")
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._sleep = sleep

    def send(self, requests: Sequence[Mapping[str, Any]]) -> int:
        """Enqueue every request; returns how many were sent, raises `FanoutIncomplete` otherwise."""
        failed_ids: list[str] = []
        codes: list[str] = []
        for start in range(0, len(requests), SQS_BATCH_LIMIT):
            for request, code in self._send_batch(requests[start : start + SQS_BATCH_LIMIT]):
                failed_ids.append(str(request["requestId"]))
                codes.append(code)
        if failed_ids:
            raise FanoutIncomplete(failed_ids, codes)
        return len(requests)

    def _send_batch(self, batch: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
        """Send one batch, retrying failed entries; returns the entries that never made it."""
        pending = {str(index): request for index, request in enumerate(batch)}
        permanent: list[tuple[Mapping[str, Any], str]] = []
        for attempt in range(self._max_attempts):
            if attempt:
                self._sleep(self._backoff_seconds * 2 ** (attempt - 1))
            response = self._sqs.send_message_batch(
                QueueUrl=self._queue_url, Entries=[self._entry(i, r) for i, r in pending.items()]
            )
            retry: dict[str, Mapping[str, Any]] = {}
            for failure in response.get("Failed", []):
                request = pending[failure["Id"]]
                if failure["SenderFault"]:
                    permanent.append((request, failure["Code"]))
                else:
                    retry[failure["Id"]] = request
            pending = retry
            if not pending:
                return permanent
        return permanent + [(request, "RetriesExhausted") for request in pending.values()]

    def _entry(self, entry_id: str, request: Mapping[str, Any]) -> SendMessageBatchRequestEntryTypeDef:
        entry: SendMessageBatchRequestEntryTypeDef = {
            "Id": entry_id,
            "MessageBody": json.dumps(request, separators=(",", ":"), ensure_ascii=False, allow_nan=False),
        }
        if self._fifo:
            # One group per image set keeps its updates in order; the request id dedups resends.
            entry["MessageGroupId"] = str(request["imageSetId"])
            entry["MessageDeduplicationId"] = str(request["requestId"])
        return entry
