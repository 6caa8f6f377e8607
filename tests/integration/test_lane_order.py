"""The lane on the local stack: one image set's requests are applied in the order they were sent, a
waiting request holds its image set's later ones back, and waits are steps, not failures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local.healthimaging.profile import BehaviourProfile, SettleTime
from local.scenario import import_image_set, outcome_events, read_metadata
from local.stack import LocalStack, LocalStackOptions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"order{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=30,
        function_timeout_s=30,
        # Settles longer than the inline poll (2 s): every update waits on the lane at least once.
        emulator_profile=BehaviourProfile(settle=SettleTime(median_seconds=2.5, p99_seconds=3.5)),
        extra_environment={"UPDATE_RATE_PER_SECOND": "50", "UPDATE_BURST": "10"},
    )
    with LocalStack(options) as running:
        yield running


def _update(stack: LocalStack, image_set: str, request_id: str, name: str) -> dict[str, Any]:
    return {
        "datastoreId": stack.datastore_id,
        "imageSetId": image_set,
        "requestId": request_id,
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": name}}}
        },
    }


def test_fifo_requests_of_one_image_set_are_applied_in_send_order_across_waits(stack: LocalStack) -> None:
    assert stack.topology is not None
    image_set = import_image_set(stack, "CT_small.dcm")
    original = read_metadata(stack, image_set)["Patient"]["DICOM"]["PatientName"]
    bodies = [
        _update(stack, image_set, "order-1", "FIRST^NAME"),
        {
            "datastoreId": stack.datastore_id,
            "imageSetId": image_set,
            "requestId": "order-2",
            "revertToVersionId": "1",
        },
        _update(stack, image_set, "order-3", "THIRD^NAME"),
        _update(stack, image_set, "order-4", "FOURTH^NAME"),
    ]
    for body in bodies:  # one by one, as a caller sends them
        stack.aws.sqs.send_message(
            QueueUrl=stack.topology.queue("fifo_ingest").url,
            MessageBody=json.dumps(body),
            MessageGroupId=image_set,
            MessageDeduplicationId=body["requestId"],
        )
    stack.run_until_idle(120)

    ended = {e["detail"]["requestId"]: e["detail"] for e in outcome_events(stack)}
    assert [ended[f"order-{i}"]["status"] for i in range(1, 5)] == ["SUCCEEDED"] * 4
    versions = [int(ended[f"order-{i}"]["toVersionId"]) for i in range(1, 5)]
    assert versions == sorted(versions) and versions[0] == 2  # 3 and 4 may share one coalesced call
    history = stack.emulator.service.version_history(stack.datastore_id, image_set)
    names = [v.document["Patient"]["DICOM"]["PatientName"] for v in history]
    assert names[1] == "FIRST^NAME" and names[2] == original  # the revert came after the first update
    assert names[-1] == "FOURTH^NAME"
    receives = [
        c for r in stack.invocations() if r.function_name.endswith("-apply") for c in r.receive_counts
    ]
    assert max(receives) > 1  # settles outlasted the inline poll: the lane delivered a waiting request again


def test_a_request_sent_twice_on_both_paths_is_applied_once(stack: LocalStack) -> None:
    assert stack.topology is not None
    image_set = import_image_set(stack, "MR_small.dcm")
    body = json.dumps(_update(stack, image_set, "order-twice", "ONCE^ONLY"))
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=body)
    stack.aws.events.put_events(
        Entries=[
            {
                "Source": "local.tests",
                "DetailType": "ImageSetMetadataUpdate.Requested",
                "Detail": body,
                "EventBusName": stack.topology.buses["requests"],
            }
        ]
    )
    stack.run_until_idle(90)

    ended = [e["detail"] for e in outcome_events(stack) if e["detail"]["requestId"] == "order-twice"]
    assert len(ended) == 1 and ended[0]["status"] == "SUCCEEDED"
    assert len(stack.emulator.service.version_history(stack.datastore_id, image_set)) == 2


def test_a_settle_is_noticed_from_healthimagings_event_without_a_poll(stack: LocalStack) -> None:
    """The default bus's `Image Set Updated` reaches intake through the stage's rule; the lane
    message waiting for that version is woken and ends without polling GetImageSet."""
    assert stack.topology is not None
    image_set = import_image_set(stack, "CT_small.dcm")
    before = stack.emulator.service.call_log.call_counts().get("GetImageSet", 0)
    body = _update(stack, image_set, "order-noticed", "NOTICED^BY^EVENT")
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=json.dumps(body))
    stack.run_until_idle(60)

    (ended,) = [e["detail"] for e in outcome_events(stack) if e["detail"]["requestId"] == "order-noticed"]
    assert ended["status"] == "SUCCEEDED"
    # One read resolves the latest version; the settle costs none when the event beats the fallback
    # poll (twice the usual settle), one on a host too loaded for that.
    reads = stack.emulator.service.call_log.call_counts().get("GetImageSet", 0) - before
    assert reads - 1 == ended["polls"] <= 1
    if ended["polls"] == 0:
        # Resolved by the event: intake's log line says which version it recorded (the bench reads
        # when the updater learned of a settle from these lines).
        noticed = [
            line
            for line in map(json.loads, _json_lines(stack.function_logs()))
            if line.get("admission") == "notice" and line.get("imageSetId") == image_set
        ]
        assert [(n["versionId"], n["workflowStatus"]) for n in noticed] == [(ended["toVersionId"], "UPDATED")]


def _json_lines(logs: str) -> list[str]:
    return [line for line in logs.splitlines() if line.startswith("{")]
