"""OutcomePublisher: outcome events on the outcome bus (EventBridge)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from updater.domain.errors import RetryableServiceError
from updater.domain.outcome import SOURCE, UpdateOutcome


class OutcomePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, outcome: UpdateOutcome) -> None:
        self.publish_detail(outcome.detail_type(), outcome.model_dump(mode="json", by_alias=True))

    def publish_detail(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": self._bus,
            "Resources": [],
        }
        try:
            answer = self._client.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as err:
            raise RetryableServiceError(type(err).__name__, "outcome event not published") from err
        if answer.get("FailedEntryCount", 0):
            # PutEvents reports per-entry failures in a 200 answer; treat them like a transient error.
            raise RetryableServiceError("PutEventsFailedEntry", "outcome event not accepted")
