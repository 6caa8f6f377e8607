"""A request whose every invocation times out still ends with a reason, never as an unexplained dead letter.

Every GetImageSet takes longer than the whole function timeout, so each invocation that works on the
request dies. Without a bound the request would loop (each redelivery finds the dead invocation's
lease and is handed back) or SQS would move it to the DLQ by itself with no failureCode. The ledger
counts the leases that ran out instead of being released; at the limit the request ends
RETRIES_EXHAUSTED, with its DLQ record, and no version.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from pydicom.data import get_testdata_file

from local.chaos_evidence import dead_letters
from local.healthimaging.profile import BehaviourProfile, FaultInjection
from local.invocation_faults import InvocationFault
from local.invoke import drain
from local.stack import LocalStack, LocalStackOptions
from updater.adapters.ledger import Ledger
from updater.renewal import MAX_RENEWALS

pytestmark = pytest.mark.integration
MAX_RECEIVE_COUNT = 5  # the dev stage's; the updater also ends a request after that many dead invocations


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"last{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=3,
        function_timeout_s=2,
        emulator_profile=BehaviourProfile(
            faults=FaultInjection(
                extra_latency_probability=1.0, extra_latency_seconds=3.0, operations=["GetImageSet"]
            )
        ),
        extra_environment={"MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT), "TIME_RESERVE_MS": "500"},
    )
    with LocalStack(options) as running:
        yield running


def test_a_request_that_times_out_on_every_delivery_ends_with_a_reason(stack: LocalStack) -> None:
    assert stack.topology is not None
    (image_set_id,) = stack.emulator.service.import_dicom_files(
        stack.datastore_id, [str(get_testdata_file("CT_small.dcm"))]
    )
    request_id = f"doomed-{uuid.uuid4().hex[:6]}"
    document = {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": "NEVER-APPLIED"}}}
    stack.aws.sqs.send_message(
        QueueUrl=stack.topology.queue("ingest").url,
        MessageBody=json.dumps(
            {
                "datastoreId": stack.datastore_id,
                "imageSetId": image_set_id,
                "requestId": request_id,
                "DICOMUpdates": {"updatableAttributes": document},
            }
        ),
    )
    stack.run_until_idle(180)

    timed_out = [r for r in stack.invocations() if r.status == "timed_out"]
    assert len(timed_out) >= MAX_RECEIVE_COUNT
    letters = dead_letters(stack.aws, stack.topology)
    assert [(d.attributes.get("requestId"), d.attributes.get("failureCode")) for d in letters] == [
        (request_id, "RETRIES_EXHAUSTED")
    ]  # one record, with its reason; nothing moved to a DLQ by SQS alone
    events = drain(stack.aws, stack.topology.queue("outcome_capture").url)
    assert [(e["detail"]["requestId"], e["detail"]["errorCode"]) for e in events] == [
        (request_id, "RETRIES_EXHAUSTED")
    ]
    assert "timed out or crashed" in events[0]["detail"]["errorMessage"]
    entry = Ledger(stack.aws.dynamodb, stack.topology.table_name).get(request_id)
    assert entry is not None and entry.abandoned == MAX_RECEIVE_COUNT
    assert len(stack.emulator.service.version_history(stack.datastore_id, image_set_id)) == 1


@pytest.fixture(scope="module")
def failing_stack() -> Iterator[LocalStack]:
    """Each delivery fails fast, and the record comes back after 1 s. One poller per queue: with
    the visibility this far below the function timeout (AWS would not allow it), a second poller
    received the record again while a slow host's first invocation still held it, and found its
    lease (a hand-back, so a fresh copy, out of the delivery sequence this test checks)."""
    options = LocalStackOptions(
        name_prefix=f"fail{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=1,
        function_timeout_s=30,
        workers=1,
        emulator_profile=BehaviourProfile(
            faults=FaultInjection(internal_error_probability=1.0, operations=["GetImageSet"])
        ),
        extra_environment={"MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT)},
    )
    with LocalStack(options) as running:
        yield running


def test_the_last_delivery_is_renewed_until_the_renewals_are_used_up(failing_stack: LocalStack) -> None:
    """Every delivery fails transiently (HealthImaging answers 500): each copy of the message is worked
    on maxReceiveCount - 2 times, its next delivery renews it, and the last copy's ends it."""
    stack = failing_stack
    assert stack.topology is not None
    request_id = f"failing-{uuid.uuid4().hex[:6]}"
    stack.aws.sqs.send_message(
        QueueUrl=stack.topology.queue("ingest").url,
        MessageBody=json.dumps(
            {
                "datastoreId": stack.datastore_id,
                "imageSetId": "0" * 32,
                "requestId": request_id,
                "DICOMUpdates": {"updatableAttributes": {"SchemaVersion": 1.1, "Study": {"DICOM": {}}}},
            }
        ),
    )
    stack.run_until_idle(120)

    counts = [r.receive_counts for r in stack.invocations()]
    # Worked on at deliveries 1..3; the 4th (of 5) renews the message, or ends the last copy.
    assert counts == [(n,) for n in range(1, MAX_RECEIVE_COUNT)] * (MAX_RENEWALS + 1)
    letters = dead_letters(stack.aws, stack.topology)
    assert [(d.attributes.get("requestId"), d.attributes.get("failureCode")) for d in letters] == [
        (request_id, "RETRIES_EXHAUSTED")
    ]
    events = drain(stack.aws, stack.topology.queue("outcome_capture").url)
    assert [e["detail"]["requestId"] for e in events] == [request_id]
    assert events[0]["detail"]["errorMessage"].startswith("no delivery finished")


@pytest.fixture(scope="module")
def lost_response_stack() -> Iterator[LocalStack]:
    """Every invocation does its work, but its answer never reaches the event source (as when the
    function overruns after its records are done): nothing is deleted by the batch response.

    The visibility timeout is no shorter than the function timeout, as AWS requires of an SQS
    trigger: a record comes back only once the invocation that holds it has ended. (With 1 s against
    30 s, a copy came back while its first invocation still worked, was received again before that
    invocation's delete, and so reached maxReceiveCount on a slow host.)"""
    options = LocalStackOptions(
        name_prefix=f"lost{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=5,
        function_timeout_s=5,
        fault_plan=lambda planned: InvocationFault(lose_response=True),
        extra_environment={"MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT), "TIME_RESERVE_MS": "1500"},
    )
    with LocalStack(options) as running:
        yield running


@pytest.mark.parametrize("queue_role", ["fifo_ingest", "ingest"])
def test_an_ended_record_is_deleted_even_when_the_batch_response_is_lost(
    lost_response_stack: LocalStack, queue_role: str
) -> None:
    """The soak's seed 9 found raw dead letters on the FIFO queue: records ended on a kept-back
    delivery whose invocations then overran, so SQS's redrive moved them to the DLQ with no reason.
    FIFO: no copies, the kept-back delivery ends the request and deletes its record at once.
    Standard: renewed twice, then the last copy's kept-back delivery ends and deletes it. Either way
    no record is received a maxReceiveCount-th time, the one SQS's redrive acts on."""
    stack = lost_response_stack
    assert stack.topology is not None
    (image_set_id,) = stack.emulator.service.import_dicom_files(
        stack.datastore_id, [str(get_testdata_file("CT_small.dcm"))]
    )
    request_id = f"lost-{uuid.uuid4().hex[:6]}"
    body = {
        "datastoreId": stack.datastore_id,
        "imageSetId": image_set_id,
        "requestId": request_id,
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": "ONCE"}}}
        },
    }
    queue = stack.topology.queue(queue_role)
    extra = {"MessageGroupId": image_set_id, "MessageDeduplicationId": request_id} if queue.fifo else {}
    known = {id(r) for r in stack.invocations()}
    drain(stack.aws, stack.topology.queue("outcome_capture").url)  # the other case's events, if it failed
    stack.aws.sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps(body), **extra)
    stack.run_until_idle(180)

    # A loaded host may hand the request back mid-settle (a copy joins the original, and is ended by
    # its own kept-back delivery): the order of deliveries varies, the bound does not.
    counts = [c for r in stack.invocations() if id(r) not in known for c in r.receive_counts]
    assert counts and max(counts) == MAX_RECEIVE_COUNT - 1
    assert dead_letters(stack.aws, stack.topology) == []  # nothing moved there by SQS alone
    events = drain(stack.aws, stack.topology.queue("outcome_capture").url)
    assert [(e["detail-type"], e["detail"]["requestId"]) for e in events] == [
        ("ImageSetMetadataUpdate.Succeeded", request_id)
    ]
    assert len(stack.emulator.service.version_history(stack.datastore_id, image_set_id)) == 2
