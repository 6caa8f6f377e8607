"""Defects the chaos soak found, pinned down one by one on the real service, ledger and emulator.

Each scenario replays the interleaving the soak produced: an update that was applied but whose
invocation ended before the outcome (handed back mid-settle, or stopped between the call and the
ledger write), then the request coming back alone or in a different group. In every case the
request's outcome must name the version its own call created, so versions created == versions
reported.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydicom.data import get_testdata_file

from local.healthimaging.client import medical_imaging_client
from local.healthimaging.profile import BehaviourProfile, FaultInjection, SettleTime
from local.stack import LocalStack, LocalStackOptions
from updater.adapters.version_claims import VersionClaims

pytestmark = pytest.mark.integration
# Long enough that a budget of MID_SETTLE_BUDGET_S reaches the update call even on a loaded host (the
# call deadline refuses calls past the budget) and is then handed back mid-settle.
SETTLE_S = 2.5
MID_SETTLE_BUDGET_S = 1.2


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"regr{uuid.uuid4().hex[:6]}-",
        function_timeout_s=30,
        emulator_profile=BehaviourProfile(settle=SettleTime(median_seconds=SETTLE_S, p99_seconds=SETTLE_S)),
        extra_environment={"UPDATE_RATE_PER_SECOND": "50", "UPDATE_BURST": "10", "TIME_RESERVE_MS": "0"},
    )
    running = LocalStack(options).start(start_pollers=False)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def image_set(stack: LocalStack) -> str:
    path = str(get_testdata_file("CT_small.dcm"))
    (image_set_id,) = stack.emulator.service.import_dicom_files(stack.datastore_id, [path])
    return str(image_set_id)


def update(stack: LocalStack, image_set_id: str, keyword: str, value: str) -> Any:
    from updater.domain.request import parse_update_request  # noqa: PLC0415

    document = {"SchemaVersion": 1.1, "Study": {"DICOM": {keyword: value}}}
    return parse_update_request(
        {
            "datastoreId": stack.datastore_id,
            "imageSetId": image_set_id,
            "requestId": f"regr-{uuid.uuid4().hex[:8]}",
            "DICOMUpdates": {"updatableAttributes": document},
        }
    )


def body(request: Any) -> str:
    return json.dumps(request.wire_dict())


def process(runtime: Any, request: Any, budget_s: float = 20.0) -> Any:
    return runtime.service.process(
        request,
        body=body(request),
        trigger="sqs",
        deadline_s=time.time() + budget_s,
        owner=f"inv-{uuid.uuid4().hex[:6]}",
    )


def process_group(runtime: Any, requests: list[Any], budget_s: float) -> dict[str, Any]:
    from updater.domain.coalescing import coalesce  # noqa: PLC0415

    [group] = coalesce(requests, ordered=True, payload_limit=10_240)
    assert group.coalesced
    return dict(
        runtime.groups.process(
            group,
            bodies={r.request_id: body(r) for r in requests},
            trigger="sqs",
            deadline_s=time.time() + budget_s,
            owner=f"inv-{uuid.uuid4().hex[:6]}/group",
        )
    )


def call_update_directly(stack: LocalStack, image_set_id: str, request: Any) -> None:
    """The update call an invocation made on version 1 before it stopped (no ledger write after it)."""
    from updater.adapters.healthimaging import HealthImagingGateway  # noqa: PLC0415

    HealthImagingGateway(medical_imaging_client(stack.emulator.endpoint_url)).update(
        stack.datastore_id,
        image_set_id,
        latest_version_id="1",
        updates=request.api_updates(),
        force=False,
        include_study_image_sets=False,
    )


def versions(stack: LocalStack, image_set_id: str) -> list[str]:
    return [v.version_id for v in stack.emulator.service.version_history(stack.datastore_id, image_set_id)]


def test_members_of_a_call_handed_back_mid_settle_report_its_version_when_they_return_alone(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    a = update(stack, image_set, "StudyDescription", "ALPHA")
    b = update(stack, image_set, "Occupation", "BETA")
    first = process_group(runtime, [a, b], budget_s=MID_SETTLE_BUDGET_S)
    assert {result.waiting_for for result in first.values()} == {"settle"}
    time.sleep(SETTLE_S - MID_SETTLE_BUDGET_S + 0.3)

    # Redelivered in different batches, each member comes back on its own.
    outcomes = [process(runtime, a).outcome, process(runtime, b).outcome]

    assert versions(stack, image_set) == ["1", "2"]
    for outcome in outcomes:
        assert (outcome.status, outcome.noop, outcome.from_version_id, outcome.to_version_id) == (
            "SUCCEEDED",
            False,
            "1",
            "2",
        )


def test_a_request_applied_alone_then_grouped_reports_its_own_version(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    a = update(stack, image_set, "StudyDescription", "ALPHA")
    b = update(stack, image_set, "Occupation", "BETA")
    assert process(runtime, a, budget_s=MID_SETTLE_BUDGET_S).waiting_for == "settle"
    time.sleep(SETTLE_S - MID_SETTLE_BUDGET_S + 0.3)

    results = process_group(runtime, [a, b], budget_s=20)

    assert versions(stack, image_set) == ["1", "2", "3"]
    assert results[a.request_id].outcome.to_version_id == "2"
    assert results[b.request_id].outcome.to_version_id == "3"


def test_a_call_cut_off_before_its_ledger_write_reports_the_version_it_created(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    from updater.adapters.ledger import Ledger  # noqa: PLC0415

    a = update(stack, image_set, "StudyDescription", "ALPHA")
    b = update(stack, image_set, "Occupation", "BETA")
    assert stack.topology is not None
    ledger = Ledger(stack.moto.client("dynamodb"), stack.topology.table_name)
    now_ms = int(time.time() * 1000)
    ledger.claim(a.request_id, datastore_id="", image_set_id="", owner="crashed", now_ms=now_ms, lease_ms=1)
    ledger.mark_applying(a.request_id, "1")
    claims = VersionClaims(stack.moto.client("dynamodb"), stack.topology.table_name)
    assert (
        claims.claim(stack.datastore_id, image_set, "1", a.request_id, now_ms=now_ms, until_ms=now_ms) is None
    )
    call_update_directly(stack, image_set, a)
    # ...the invocation stops here, before mark_applied; meanwhile another request moves the image set on.
    assert process(runtime, b).outcome.to_version_id == "3"

    outcome = process(runtime, a).outcome

    assert versions(stack, image_set) == ["1", "2", "3"]
    assert (outcome.status, outcome.from_version_id, outcome.to_version_id) == ("SUCCEEDED", "1", "2")


def crash_after_update_call(stack: LocalStack, request: Any, image_set: str, *, claim: bool) -> None:
    """What an invocation leaves when it stops right after its update call (or, without `claim`,
    right before it): the ledger says APPLYING at version 1."""
    from updater.adapters.ledger import Ledger  # noqa: PLC0415

    assert stack.topology is not None
    now_ms = int(time.time() * 1000)
    ledger = Ledger(stack.moto.client("dynamodb"), stack.topology.table_name)
    ledger.claim(
        request.request_id, datastore_id="", image_set_id="", owner="dead", now_ms=now_ms, lease_ms=1
    )
    ledger.mark_applying(request.request_id, "1")
    if claim:
        claims = VersionClaims(stack.moto.client("dynamodb"), stack.topology.table_name)
        claims.claim(stack.datastore_id, image_set, "1", request.request_id, now_ms=now_ms, until_ms=now_ms)


def test_a_cut_off_call_whose_version_failed_reports_update_failed_not_a_second_try(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    """The soak's unclaimed version: base+1 settled UPDATE_FAILED after the invocation died, and the
    resumed request applied again, so version 2 was nobody's. Its claim on version 1 makes it its own."""

    request = update(stack, image_set, "StudyDescription", "ALPHA")
    crash_after_update_call(stack, request, image_set, claim=True)
    behaviour = stack.emulator.service.behaviour
    normal = behaviour.profile
    behaviour.set_profile(
        normal.model_copy(update={"faults": FaultInjection(update_failure_probability=1.0)})
    )
    try:
        call_update_directly(stack, image_set, request)
    finally:
        behaviour.set_profile(normal)

    outcome = process(runtime, request).outcome

    assert versions(stack, image_set) == ["1", "2"]
    assert (outcome.status, outcome.error_code, outcome.to_version_id) == ("FAILED", "UPDATE_FAILED", "2")


def test_a_version_another_request_created_is_not_taken_for_ones_own(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    """Stopped before its call (no claim), while another request made version 2 with the same change:
    the change is already there, so it succeeds as a no-op, naming no version of its own."""
    a = update(stack, image_set, "StudyDescription", "ALPHA")
    twin = update(stack, image_set, "StudyDescription", "ALPHA")
    crash_after_update_call(stack, a, image_set, claim=False)
    assert process(runtime, twin).outcome.to_version_id == "2"

    outcome = process(runtime, a).outcome

    assert versions(stack, image_set) == ["1", "2"]
    assert (outcome.status, outcome.noop, outcome.to_version_id) == ("SUCCEEDED", True, "2")


def test_a_record_reached_after_the_time_reserve_is_handed_back_untouched(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    request = update(stack, image_set, "StudyDescription", "ALPHA")

    # Earlier records of the batch used the invocation's time: less than the reserve (0 here) is left.
    result = runtime.service.process(
        request, body=body(request), trigger="sqs", deadline_s=time.time() - 0.1, owner="late"
    )

    assert (result.outcome, result.waiting_for) == (None, "time")
    assert versions(stack, image_set) == ["1"]
    assert runtime.service.claim_request(request, owner="next", lease_s=1).attempts == 1  # never claimed


def test_members_of_a_coalesced_call_cut_off_after_it_report_its_version_alone(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    """The shared call holds the claim; each member's entry names the call (`via`) before it is made."""
    from updater.adapters.ledger import Ledger  # noqa: PLC0415
    from updater.domain.coalescing import coalesce  # noqa: PLC0415

    a = update(stack, image_set, "StudyDescription", "ALPHA")
    b = update(stack, image_set, "Occupation", "BETA")
    [group] = coalesce([a, b], ordered=True, payload_limit=10_240)
    merged = group.merged
    assert stack.topology is not None
    now_ms = int(time.time() * 1000)
    ledger = Ledger(stack.moto.client("dynamodb"), stack.topology.table_name)
    for member in (a, b):
        ledger.claim(
            member.request_id, datastore_id="", image_set_id="", owner="dead", now_ms=now_ms, lease_ms=1
        )
        ledger.mark_applying(member.request_id, "1", via=merged.request_id)
    claims = VersionClaims(stack.moto.client("dynamodb"), stack.topology.table_name)
    claims.claim(stack.datastore_id, image_set, "1", merged.request_id, now_ms=now_ms, until_ms=now_ms)
    call_update_directly(stack, image_set, merged)

    outcomes = [process(runtime, member).outcome for member in (a, b)]

    assert versions(stack, image_set) == ["1", "2"]
    assert [(o.status, o.noop, o.to_version_id) for o in outcomes] == [("SUCCEEDED", False, "2")] * 2


def test_a_request_cut_off_after_its_call_returns_in_a_group_and_still_reports_its_version(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    """The soak's unclaimed version, second kind: the request came back in a batch with another
    change to the image set, was folded into a new shared call, and reported that call's version."""

    a = update(stack, image_set, "StudyDescription", "ALPHA")
    b = update(stack, image_set, "Occupation", "BETA")
    crash_after_update_call(stack, a, image_set, claim=True)
    call_update_directly(stack, image_set, a)

    results = process_group(runtime, [a, b], budget_s=20)

    assert versions(stack, image_set) == ["1", "2", "3"]
    assert (results[a.request_id].outcome.from_version_id, results[a.request_id].outcome.to_version_id) == (
        "1",
        "2",
    )
    assert results[b.request_id].outcome.to_version_id == "3"


def test_giving_up_on_a_request_whose_call_landed_reports_the_call(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    """Out of deliveries after its call had landed: the soak saw RETRIES_EXHAUSTED reported for
    changes that were applied (their versions unclaimed). Ending it reads the version it made."""
    request = update(stack, image_set, "StudyDescription", "ALPHA")
    crash_after_update_call(stack, request, image_set, claim=True)
    call_update_directly(stack, image_set, request)
    time.sleep(SETTLE_S + 0.3)

    result = runtime.service.give_up(request, body=body(request), trigger="sqs", owner="last", reason="x")

    assert versions(stack, image_set) == ["1", "2"]
    outcome = result.outcome
    assert (outcome.status, outcome.from_version_id, outcome.to_version_id) == ("SUCCEEDED", "1", "2")


def test_giving_up_before_the_call_landed_reports_retries_exhausted(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    request = update(stack, image_set, "StudyDescription", "ALPHA")
    crash_after_update_call(stack, request, image_set, claim=True)  # claimed, but never called

    result = runtime.service.give_up(request, body=body(request), trigger="sqs", owner="last", reason="x")

    assert versions(stack, image_set) == ["1"]
    assert (result.outcome.error_code, result.outcome.to_version_id) == ("RETRIES_EXHAUSTED", None)


def test_a_coalesced_call_cut_off_before_its_published_flag_never_publishes_its_own_outcome(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    """The 1,000-request soak's one unexpected event: a coalesced call's internal entry was stored as
    ended and the invocation stopped before the entry was flagged; when the group came back, the
    stored outcome was replayed as if it were a request's, and published under `coalesced-…`."""
    from local.scenario import outcome_events  # noqa: PLC0415
    from updater.adapters.ledger import Ledger, LedgerStatus  # noqa: PLC0415
    from updater.domain.coalescing import coalesce  # noqa: PLC0415
    from updater.domain.outcome import OutcomeStatus, UpdateOutcome  # noqa: PLC0415

    a = update(stack, image_set, "StudyDescription", "ALPHA")
    b = update(stack, image_set, "Occupation", "BETA")
    [group] = coalesce([a, b], ordered=True, payload_limit=10_240)
    merged = group.merged
    assert stack.topology is not None
    ledger = Ledger(stack.moto.client("dynamodb"), stack.topology.table_name)
    now_ms = int(time.time() * 1000)
    ledger.claim(
        merged.request_id,
        datastore_id=stack.datastore_id,
        image_set_id=image_set,
        owner="dead",
        now_ms=now_ms,
        lease_ms=1,
    )
    call_update_directly(stack, image_set, merged)
    stored = UpdateOutcome(
        request_id=merged.request_id,
        datastore_id=stack.datastore_id,
        image_set_id=image_set,
        status=OutcomeStatus.SUCCEEDED,
        trigger="sqs",
        from_version_id="1",
        to_version_id="2",
    )
    # Recorded, and the invocation stopped before `mark_published`.
    ledger.record_outcome(merged.request_id, LedgerStatus.SUCCEEDED, stored.model_dump(mode="json"))
    outcome_events(stack)  # start from an empty capture queue

    results = process_group(runtime, [a, b], budget_s=20)

    assert {r.outcome.to_version_id for r in results.values()} == {"2"}
    published = sorted(event["detail"]["requestId"] for event in outcome_events(stack))
    assert published == sorted([a.request_id, b.request_id])
    entry = ledger.get(merged.request_id)
    assert entry is not None and entry.published


class LambdaStopped(BaseException):
    """The function stopped mid-invocation (a timeout or a crash): nothing after it runs."""


def kept_back_fifo_batch(
    stack: LocalStack, image_set: str, receive_counts: list[int]
) -> tuple[dict[str, Any], list[Any]]:
    """A FIFO batch of never-started requests on their kept-back deliveries (one group each), and
    the requests in the batch's order."""
    from local.sqs_lambda_event import lambda_sqs_event  # noqa: PLC0415

    assert stack.topology is not None
    queue = stack.topology.queue("fifo_ingest")
    requests = [update(stack, image_set, "StudyDescription", f"KEPT-{i}") for i in range(len(receive_counts))]
    for index, request in enumerate(requests):
        stack.aws.sqs.send_message(
            QueueUrl=queue.url,
            MessageBody=body(request),
            MessageGroupId=f"group-{index}",
            MessageDeduplicationId=request.request_id,
        )
    messages = receive_until(stack, queue.url, len(receive_counts))
    for message, count in zip(messages, receive_counts, strict=True):
        message["Attributes"]["ApproximateReceiveCount"] = str(count)
    by_id = {request.request_id: request for request in requests}
    in_order = [by_id[json.loads(message["Body"])["requestId"]] for message in messages]
    return lambda_sqs_event(messages, queue.arn), in_order


def clear_fifo(stack: LocalStack, messages: list[dict[str, Any]]) -> None:
    """Deletes what came back: the module's other tests start from an empty queue."""
    assert stack.topology is not None
    for message in messages:
        stack.aws.sqs.delete_message(
            QueueUrl=stack.topology.queue("fifo_ingest").url, ReceiptHandle=message["ReceiptHandle"]
        )


def receive_until(stack: LocalStack, queue_url: str, count: int, wait_s: float = 10) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    give_up_at = time.monotonic() + wait_s
    while len(messages) < count and time.monotonic() < give_up_at:
        answer = stack.aws.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=2, AttributeNames=["All"]
        )
        messages.extend(answer.get("Messages", []))
    return messages


def test_kept_back_records_are_deleted_one_by_one_most_received_first(
    stack: LocalStack, runtime: Any, image_set: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A soak in the full suite found a raw FIFO dead letter: a batch of kept-back records, ended one
    after another, overran before any was deleted, so all came back, and the most-received went to the
    DLQ by SQS's redrive. Each ended record is deleted at once, the one on its last delivery first."""
    from local.lambda_context import LocalLambdaContext  # noqa: PLC0415
    from updater.handler import handle  # noqa: PLC0415

    assert stack.topology is not None
    event, requests = kept_back_fifo_batch(stack, image_set, [4, 5, 4])
    ids = [record["messageId"] for record in event["Records"]]
    ended: list[str] = []
    give_up = runtime.service.give_up

    def give_up_then_stop(request: Any, **kwargs: Any) -> Any:
        if ended:  # the function dies while ending the second record
            raise LambdaStopped
        ended.append(request.request_id)
        return give_up(request, **kwargs)

    monkeypatch.setattr(runtime.service, "give_up", give_up_then_stop)
    with pytest.raises(LambdaStopped):
        handle(event, LocalLambdaContext("updater", "512", timeout_s=30), runtime)

    assert ended == [requests[1].request_id]  # the one on its 5th delivery: SQS would move it next
    time.sleep(2.5)  # the batch's visibility timeout: what was not deleted comes back
    back = receive_until(stack, stack.topology.queue("fifo_ingest").url, 2)
    clear_fifo(stack, back)
    assert sorted(m["MessageId"] for m in back) == sorted([ids[0], ids[2]])


def test_kept_back_records_past_the_time_reserve_come_back_unended(
    stack: LocalStack, runtime: Any, image_set: str
) -> None:
    """Ending a request writes the ledger, an event and a DLQ record: with no time left it is not
    started (the record comes back for its next delivery) rather than cut off half-way."""
    from local.lambda_context import LocalLambdaContext  # noqa: PLC0415
    from updater.handler import handle  # noqa: PLC0415

    assert stack.topology is not None
    event, requests = kept_back_fifo_batch(stack, image_set, [4, 4])

    response = handle(event, LocalLambdaContext("updater", "512", timeout_s=0), runtime)

    ids = sorted(record["messageId"] for record in event["Records"])
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ids
    # Never claimed before (the first claim is this one): not ended.
    assert [runtime.service.claim_request(r, owner="next", lease_s=1).attempts for r in requests] == [1, 1]
    time.sleep(2.5)
    back = receive_until(stack, stack.topology.queue("fifo_ingest").url, 2)
    clear_fifo(stack, back)
    assert sorted(m["MessageId"] for m in back) == ids
