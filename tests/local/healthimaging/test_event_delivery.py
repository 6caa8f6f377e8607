"""EventBridge unreachable: the emulator's events wait, in order; its API calls and settles go on.

The chaos soak's moto outages once killed the emulator's settle ticker (a failed PutEvents raised
out of it) and turned successful update calls into 500s. Real HealthImaging's event delivery does
not fail the API, so neither may the emulator's.
"""

from __future__ import annotations

import json
from typing import Any

from local.healthimaging import BehaviourProfile, HealthImagingService, ManualClock
from tests.local.healthimaging.conftest import ONE_SECOND_SETTLE
from tests.local.healthimaging.core_calls import get_image_set, update
from tests.local.healthimaging.documents import metadata_document, update_blob


class Bus:
    """EventBridge at the network edge: reachable or not."""

    def __init__(self) -> None:
        self.reachable = True
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> Any:  # noqa: N803 - boto3's keyword
        if not self.reachable:
            raise ConnectionRefusedError("EventBridge unreachable")
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i, _ in enumerate(Entries)]}

    def kinds(self) -> list[tuple[str, str]]:
        return [(e["DetailType"], json.loads(e["Detail"]).get("imageSetVersion", "")) for e in self.entries]


def test_an_unreachable_bus_delays_events_and_fails_no_call() -> None:
    bus, clock = Bus(), ManualClock()
    service = HealthImagingService(
        profile=BehaviourProfile(settle=ONE_SECOND_SETTLE, seed=7), clock=clock, event_sink=bus
    )
    datastore_id = service.create_datastore("events")
    image_set_id = service.seed_image_set(datastore_id, metadata_document())
    bus.entries.clear()
    bus.reachable = False

    rename = update_blob(Patient={"DICOM": {"PatientName": "X"}})
    response = update(service, datastore_id, image_set_id, "1", updatable=rename)
    clock.advance(1.5)
    service.settle_due()
    settled = get_image_set(service, datastore_id, image_set_id)

    assert response["latestVersionId"] == "2"
    assert settled["imageSetWorkflowStatus"] == "UPDATED"
    assert bus.entries == []
    bus.reachable = True
    service.settle_due()
    assert bus.kinds() == [("Image Set Updating", "2"), ("Image Set Updated", "2")]
