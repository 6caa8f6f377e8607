"""What every version reports: the image set's creation time, messages in the model's pattern, events
stamped with the moment of the change."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from local.healthimaging import BehaviourProfile, EmulatorServer, HealthImagingService, ManualClock
from tests.local.healthimaging.conftest import ONE_SECOND_SETTLE
from tests.local.healthimaging.contract import ContractRecorder
from tests.local.healthimaging.core_calls import update
from tests.local.healthimaging.documents import metadata_document, update_blob
from tests.local.healthimaging.test_event_delivery import Bus

# The model's Message pattern `[\w -:`]+` as Java reads it: ASCII word characters only.
JAVA_MESSAGE = re.compile(r"[A-Za-z0-9_ -:`]+")


def test_update_failed_message_fits_the_models_pattern(client: Any, emulator: EmulatorServer) -> None:
    recorder = ContractRecorder(client)
    datastore_id = client.create_datastore(datastoreName="messages", clientToken="m")["datastoreId"]
    image_set_id = emulator.service.seed_image_set(datastore_id, metadata_document())
    two_bad_values = update_blob(
        Patient={"DICOM": {"PatientBirthDate": "yesterday"}}, Study={"DICOM": {"StudyDate": "01/02/2024"}}
    )
    client.update_image_set_metadata(
        datastoreId=datastore_id, imageSetId=image_set_id, latestVersionId="1",
        updateImageSetMetadataUpdates={"DICOMUpdates": {"updatableAttributes": two_bad_values}},
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while (
        client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)["imageSetState"] == "LOCKED"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)

    failed = client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)
    listed = client.list_image_set_versions(datastoreId=datastore_id, imageSetId=image_set_id)
    assert failed["imageSetWorkflowStatus"] == "UPDATE_FAILED"
    assert "PatientBirthDate" in failed["message"] and "StudyDate" in failed["message"]
    assert JAVA_MESSAGE.fullmatch(failed["message"]), failed["message"]
    assert listed["imageSetPropertiesList"][0]["message"] == failed["message"]
    assert recorder.problems == []


def test_every_version_reports_the_image_sets_creation_time(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    created = service.call("GetImageSet", {"datastoreId": datastore_id, "imageSetId": image_set_id})
    for latest in ("1", "2"):
        clock.advance(30)
        update(service, datastore_id, image_set_id, latest, revert_to="1")
        clock.advance(2)

    listed = service.call("ListImageSetVersions", {"datastoreId": datastore_id, "imageSetId": image_set_id})
    versions = listed["imageSetPropertiesList"]
    assert {v["createdAt"] for v in versions} == {created["createdAt"]}
    assert versions[0]["updatedAt"] > versions[1]["updatedAt"] > created["createdAt"]


def test_events_are_stamped_with_the_moment_the_version_settled() -> None:
    bus, clock = Bus(), ManualClock()
    service = HealthImagingService(BehaviourProfile(settle=ONE_SECOND_SETTLE), clock, event_sink=bus)
    datastore_id = service.create_datastore("times")
    image_set_id = service.seed_image_set(datastore_id, metadata_document())
    update(service, datastore_id, image_set_id, "1", revert_to="1")
    clock.advance(60)  # settles at about +1 s; delivered only now
    service.settle_due()

    [updated] = [e for e in bus.entries if e["DetailType"] == "Image Set Updated"]
    settled_at = service.version_history(datastore_id, image_set_id)[-1].updated_at
    assert updated["Time"] == dt.datetime.fromtimestamp(settled_at, tz=dt.UTC)
    assert settled_at < clock.now() - 50
