"""HealthImaging's EventBridge events: built under the state lock, published after it is released.

Detail shapes follow the developer guide's samples (reference §4), with the image set id under
`imageSetId` (the schema registry's and AWS samples' spelling, not the doc's `imagesetId`).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from typing import Any, Protocol

EVENT_SOURCE = "aws.medical-imaging"
IMAGING_VERSION = "1.0"


@dataclass(frozen=True)
class HealthImagingEvent:
    detail_type: str
    resources: list[str]
    detail: dict[str, Any]
    time: float

    def as_entry(self, event_bus_name: str) -> dict[str, Any]:
        return {
            "Source": EVENT_SOURCE,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail),
            "Resources": self.resources,
            # The moment the state changed (a settle deadline), not the moment of delivery.
            "Time": dt.datetime.fromtimestamp(self.time, tz=dt.UTC),
            "EventBusName": event_bus_name,
        }


class EventSink(Protocol):
    def put_events(self, Entries: list[dict[str, Any]]) -> Any: ...  # noqa: N803 - boto3's keyword


def image_set_event(
    detail_type: str,
    arn: str,
    datastore_id: str,
    image_set_id: str,
    version_id: str,
    state: str,
    workflow_status: str,
    is_primary: bool,
    time: float,
    id_key: str = "imageSetId",
    extra: dict[str, str] | None = None,
) -> HealthImagingEvent:
    """The developer guide's sample fields; `imageSetVersion` is the version that changed, a string."""
    detail = {
        "imagingVersion": IMAGING_VERSION,
        "isPrimary": is_primary,
        "imageSetVersion": version_id,
        "datastoreId": datastore_id,
        id_key: image_set_id,
        "imageSetState": state,
        "imageSetWorkflowStatus": workflow_status,
        **(extra or {}),  # `Image Set Copying` adds `sourceImageSetArn`
    }
    return HealthImagingEvent(detail_type, [arn], detail, time)


def resource_event(detail_type: str, arn: str, detail: dict[str, Any], time: float) -> HealthImagingEvent:
    """Data store and import job events: `imagingVersion` plus the resource's own detail fields."""
    return HealthImagingEvent(detail_type, [arn], {"imagingVersion": IMAGING_VERSION, **detail}, time)


class EventOutbox:
    """Collects events in order; `flush` sends them (EventBridge allows 10 entries per call)."""

    def __init__(self, sink: EventSink | None = None, event_bus_name: str = "default") -> None:
        self._sink = sink
        self._event_bus_name = event_bus_name
        self._pending: list[HealthImagingEvent] = []
        self._published: list[HealthImagingEvent] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.delivery_failures = 0

    def add(self, event: HealthImagingEvent) -> None:
        with self._lock:
            self._pending.append(event)

    def flush(self) -> None:
        """Sends what is pending; never raises. Like the real service's EventBridge delivery, an
        unreachable bus delays events (they stay pending, in order, for the next flush) and never
        fails the API call or the settle that produced them."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            sent = 0
            try:
                for start in range(0, len(batch), 10):
                    chunk = batch[start : start + 10]
                    if self._sink is not None:
                        self._sink.put_events(Entries=[e.as_entry(self._event_bus_name) for e in chunk])
                    sent = start + len(chunk)
            except Exception:  # any delivery failure: keep the events, try again later
                self.delivery_failures += 1
            with self._lock:
                self._published.extend(batch[:sent])
                self._pending = batch[sent:] + self._pending

    def published(self, detail_type: str | None = None) -> list[HealthImagingEvent]:
        """Every event emitted so far (also without an EventBridge endpoint), for tests."""
        with self._lock:
            return [e for e in self._published if detail_type is None or e.detail_type == detail_type]
