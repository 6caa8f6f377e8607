"""OutcomePublisher: outcome events on the outcome bus (EventBridge)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from updater.domain.errors import RetryableServiceError
from updater.domain.outcome import SOURCE, UpdateOutcome

PUT_EVENTS_ENTRIES = 10  # EventBridge: entries per PutEvents call
# Of a call's 256 KB: an entry counted by its Source, DetailType and Detail bytes (EventBridge adds a
# few fields' bytes more; an outcome's detail is a few KB, so the margin is wide).
PUT_EVENTS_BYTES = 200_000


class OutcomePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish_many(self, outcomes: Sequence[UpdateOutcome]) -> list[str]:
        """Ten to a call (a coalesced call's members end together): the ids of those accepted. A
        call that fails after earlier ones were accepted stops here and returns those, so that
        they are marked published and only the rest are published again."""
        accepted: list[str] = []
        for chunk in _chunks([(o.request_id, self._entry(o)) for o in outcomes]):
            try:
                answer = self._put([entry for _, entry in chunk])
            except RetryableServiceError:
                if not accepted:
                    raise
                return accepted
            results = answer.get("Entries", [])
            accepted.extend(
                request_id
                for (request_id, _), result in zip(chunk, results, strict=False)
                if result.get("EventId") and not result.get("ErrorCode")
            )
        return accepted

    def publish_detail(self, detail_type: str, detail: dict[str, Any]) -> None:
        answer = self._put([self._detail_entry(detail_type, detail)])
        if answer.get("FailedEntryCount", 0):
            # PutEvents reports per-entry failures in a 200 answer; treat them like a transient error.
            raise RetryableServiceError("PutEventsFailedEntry", "outcome event not accepted")

    def _entry(self, outcome: UpdateOutcome) -> dict[str, Any]:
        return self._detail_entry(outcome.detail_type(), outcome.model_dump(mode="json", by_alias=True))

    def _detail_entry(self, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
        return {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": self._bus,
            "Resources": [],
        }

    def _put(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self._client.put_events(Entries=entries)
        except (ClientError, BotoCoreError) as err:
            raise RetryableServiceError(type(err).__name__, "outcome event not published") from err
        return answer


def _chunks(entries: list[tuple[str, dict[str, Any]]]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    chunk: list[tuple[str, dict[str, Any]]] = []
    size = 0
    for item in entries:
        entry = item[1]
        entry_size = len(entry["Source"]) + len(entry["DetailType"]) + len(entry["Detail"].encode())
        if chunk and (len(chunk) == PUT_EVENTS_ENTRIES or size + entry_size > PUT_EVENTS_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += entry_size
    if chunk:
        yield chunk
