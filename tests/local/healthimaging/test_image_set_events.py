"""`Image Set Updated` / `Image Set Update Failed`: on the configured bus when the version settles, with
the developer guide's detail fields (imageSetVersion included), without any client call to trigger it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from local.healthimaging import (
    BehaviourProfile,
    EmulatorServer,
    FaultInjection,
    HealthImagingService,
    medical_imaging_client,
)
from local.moto_stack import MotoServer
from tests.local.healthimaging.documents import metadata_document, update_blob
from tests.local.healthimaging.test_dicom_import import received_events


@pytest.fixture
def bus_queue(moto_server: MotoServer) -> tuple[Any, str, str]:
    """A bus of its own (moto's server lives for the session) with a rule to a queue."""
    sqs, events = moto_server.client("sqs"), moto_server.client("events")
    name = f"settle-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.create_event_bus(Name=name)
    events.put_rule(
        Name=name, EventBusName=name, EventPattern=json.dumps({"source": ["aws.medical-imaging"]})
    )
    events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return sqs, queue_url, name


@pytest.mark.parametrize(
    ("failure_probability", "detail_type", "status"),
    [(0.0, "Image Set Updated", "UPDATED"), (1.0, "Image Set Update Failed", "UPDATE_FAILED")],
)
def test_the_settle_event_reaches_the_bus_with_the_documented_detail(
    moto_server: MotoServer,
    bus_queue: tuple[Any, str, str],
    failure_probability: float,
    detail_type: str,
    status: str,
) -> None:
    sqs, queue_url, bus = bus_queue
    profile = BehaviourProfile.fast().model_copy(
        update={"faults": FaultInjection(update_failure_probability=failure_probability)}
    )
    with EmulatorServer(
        profile=profile, eventbridge_endpoint_url=moto_server.endpoint_url, event_bus_name=bus
    ) as emulator:
        client = medical_imaging_client(emulator.endpoint_url)
        datastore_id = emulator.service.create_datastore("events")
        image_set_id = emulator.service.seed_image_set(datastore_id, metadata_document())
        client.update_image_set_metadata(
            datastoreId=datastore_id, imageSetId=image_set_id, latestVersionId="1",
            updateImageSetMetadataUpdates={
                "DICOMUpdates": {"updatableAttributes": update_blob(Patient={"DICOM": {"PatientName": "X"}})}
            },
        )  # fmt: skip
        events = received_events(sqs, queue_url, detail_type)  # only the settle ticker runs meanwhile
        settled = client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)

    [event] = [e for e in events if e["detail-type"] == detail_type]
    assert event["source"] == "aws.medical-imaging"
    assert event["resources"] == [settled["imageSetArn"]]
    assert event["detail"] == {
        "imagingVersion": "1.0", "isPrimary": True, "imageSetVersion": "2", "datastoreId": datastore_id,
        "imageSetId": image_set_id, "imageSetState": "ACTIVE", "imageSetWorkflowStatus": status,
    }  # fmt: skip
    sent_at = dt.datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    assert abs((sent_at - settled["updatedAt"]).total_seconds()) < 1.5
    assert settled["imageSetWorkflowStatus"] == status


def test_the_id_key_can_follow_the_developer_guides_sample() -> None:
    service = HealthImagingService(BehaviourProfile(image_set_event_id_key="imagesetId"))
    datastore_id = service.create_datastore("spelling")
    image_set_id = service.seed_image_set(datastore_id, metadata_document())

    [created] = service.published_events("Image Set Created")
    assert created.detail["imagesetId"] == image_set_id and "imageSetId" not in created.detail
