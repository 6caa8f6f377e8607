"""The lane's state machine, one delivery at a time, on a virtual clock: waits are steps, every crash
point resumes to exactly one version and one outcome."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.unit.domain.fakes import Crash, ThrottledError
from tests.unit.domain.lane_world import LaneWorld, patient_update, request
from updater.domain.errors import RetryableServiceError
from updater.domain.lane_message import LaneDelivery, LaneMessage
from updater.domain.ledger import PendingCall
from updater.domain.outcome import OutcomeStatus
from updater.domain.step_results import settle_wait
from updater.domain.steps import Done, Wait, WaitReason


def test_an_update_that_settles_inline_ends_in_one_delivery() -> None:
    world = LaneWorld(settle_s=0.5)
    world.submit(patient_update("r1", PatientName="NEW^NAME"))
    results = world.deliver()
    outcome = results["r1"]
    assert isinstance(outcome, Done)
    assert outcome.outcome.status is OutcomeStatus.SUCCEEDED
    assert (outcome.outcome.from_version_id, outcome.outcome.to_version_id) == ("1", "2")
    assert outcome.outcome.changed == {"Patient": ["PatientName"]}
    assert world.patient()["PatientName"] == "NEW^NAME"
    assert [e.request_id for e in world.events.published] == ["r1"]
    # open + read + begin + outcome + published + end: the call's version is never written separately
    assert sum(world.ledger.calls.values()) == 6


def test_a_settle_longer_than_the_inline_poll_is_a_wait_not_a_failure() -> None:
    world = LaneWorld(settle_s=7.0)
    world.submit(patient_update("r1", PatientName="SLOW^SETTLE"))
    first = world.deliver()["r1"]
    assert isinstance(first, Wait) and first.reason is WaitReason.SETTLING
    assert world.ledger.lanes[next(iter(world.ledger.lanes))].call.to_version_id == "2"
    outcomes = world.run()
    assert outcomes["r1"].to_version_id == "2"
    assert outcomes["r1"].polls >= 2
    assert world.images.calls["UpdateImageSetMetadata"] == 1
    assert world.versions() == 2


def test_a_crash_before_the_call_lands_nothing_and_the_next_delivery_calls_once() -> None:
    world = LaneWorld()
    world.submit(patient_update("r1", PatientName="A^B"))
    world.images.fail_next("UpdateImageSetMetadata", Crash("before the call"))
    with pytest.raises(Crash):
        world.deliver()
    world.queue[0].visible_at = world.clock.now() + 30  # the visibility timeout brings it back
    outcomes = world.run()
    assert outcomes["r1"].status is OutcomeStatus.SUCCEEDED
    assert outcomes["r1"].to_version_id == "2"
    assert world.versions() == 2


def test_a_crash_after_the_call_before_the_ledger_write_is_attributed_to_the_open_call() -> None:
    world = LaneWorld()
    world.submit(patient_update("r1", PatientName="A^B"))
    world.images.fail_next("UpdateImageSetMetadata", Crash("after the call"), after_landing=True)
    with pytest.raises(Crash):
        world.deliver()
    world.queue[0].visible_at = world.clock.now() + 30
    outcomes = world.run()
    assert outcomes["r1"].status is OutcomeStatus.SUCCEEDED
    assert (outcomes["r1"].from_version_id, outcomes["r1"].to_version_id) == ("1", "2")
    assert world.images.calls["UpdateImageSetMetadata"] == 1
    assert world.versions() == 2


def test_a_coalesced_member_that_comes_back_alone_reports_the_shared_version() -> None:
    world = LaneWorld()
    world.submit(patient_update("a", PatientName="FIRST"), patient_update("b", PatientSex="F"))
    world.images.fail_next("UpdateImageSetMetadata", Crash("after the call"), after_landing=True)
    with pytest.raises(Crash):
        world.deliver()
    # a's deliveries run out (SQS moves it to the DLQ); b comes back alone and resolves the call
    a, b_queued = world.queue
    world.queue = [b_queued]
    world.clock.advance(30)
    b = world.deliver()["b"]
    assert isinstance(b, Done) and b.outcome.to_version_id == "2"
    assert world.ledger.entries["a"].applied is not None
    from updater.domain.lane_message import LaneDelivery  # noqa: PLC0415

    explained = world.finalizer.lane_message(LaneDelivery(a.message_id, a.message, 5))
    assert explained.status is OutcomeStatus.SUCCEEDED and explained.to_version_id == "2"
    assert explained.coalesced_request_ids == ["b"]
    assert world.images.calls["UpdateImageSetMetadata"] == 1
    assert (world.patient()["PatientName"], world.patient()["PatientSex"]) == ("FIRST", "F")


def test_update_failed_after_a_crash_is_reported_as_update_failed_with_its_version() -> None:
    world = LaneWorld()
    world.images.next_status = "UPDATE_FAILED"
    world.submit(patient_update("r1", PatientName="BAD"))
    world.images.fail_next("UpdateImageSetMetadata", Crash("after the call"), after_landing=True)
    with pytest.raises(Crash):
        world.deliver()
    world.queue[0].visible_at = world.clock.now() + 30
    outcomes = world.run()
    assert outcomes["r1"].status is OutcomeStatus.FAILED
    assert outcomes["r1"].error_code == "UPDATE_FAILED"
    assert outcomes["r1"].to_version_id == "2"
    assert [code for _, _, code, _ in world.failures.records] == ["UPDATE_FAILED"]


def test_a_crash_between_storing_and_publishing_republishes_the_stored_outcome_once() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("r1", PatientName="A^B"))
    world.events.crash_next = True
    with pytest.raises(Crash):
        world.deliver()
    world.queue[0].visible_at = world.clock.now() + 30
    outcomes = world.run()
    assert outcomes["r1"].to_version_id == "2"
    assert [e.request_id for e in world.events.published] == ["r1"]
    assert world.images.calls["UpdateImageSetMetadata"] == 1


def test_a_lost_answer_to_a_5xx_leaves_the_call_open_and_the_next_delivery_finds_it_landed() -> None:
    world = LaneWorld()
    world.submit(patient_update("r1", PatientName="A^B"))
    world.images.fail_next(
        "UpdateImageSetMetadata", RetryableServiceError("InternalServerException", "5xx"), after_landing=True
    )
    first = world.deliver()["r1"]
    assert isinstance(first, Wait) and first.reason is WaitReason.TRANSIENT
    outcomes = world.run()
    assert outcomes["r1"].to_version_id == "2"
    assert world.versions() == 2


def test_a_throttled_call_waits_and_takes_no_effect() -> None:
    world = LaneWorld()
    world.submit(patient_update("r1", PatientName="A^B"))
    world.images.fail_next("UpdateImageSetMetadata", ThrottledError("ThrottlingException", "slow down"))
    first = world.deliver()["r1"]
    assert isinstance(first, Wait) and first.reason is WaitReason.THROTTLED
    assert next(iter(world.ledger.lanes.values())).call is None
    outcomes = world.run()
    assert outcomes["r1"].status is OutcomeStatus.SUCCEEDED
    assert world.images.calls["UpdateImageSetMetadata"] == 2
    assert world.versions() == 2


def test_a_far_pacing_slot_is_a_wait_and_the_slot_is_kept_for_the_return() -> None:
    world = LaneWorld(rate=0.25)
    world.pacer.reserve()  # someone else took the slot now: ours is 4 s away
    world.submit(patient_update("r1", PatientName="A^B"))
    first = world.deliver()["r1"]
    assert isinstance(first, Wait) and first.reason is WaitReason.PACING
    assert first.visibility_s == 3  # back a little early; the last moments are slept inline
    reserved = next(iter(world.ledger.lanes.values())).turn_at_ms
    assert reserved is not None
    assert first.until_s == pytest.approx(reserved / 1000, abs=0.001)  # hidden until then, from whenever
    outcomes = world.run()
    assert outcomes["r1"].status is OutcomeStatus.SUCCEEDED
    assert world.pacer.ended and world.pacer.ended[0] >= reserved / 1000


def test_an_image_set_locked_by_another_writer_is_waited_for_then_updated_on_its_new_version() -> None:
    world = LaneWorld(settle_s=3.0)
    world.images.external_update(*_lane_ids(), {"PatientAge": "041Y"})
    world.submit(patient_update("r1", PatientName="A^B"))
    first = world.deliver()["r1"]
    assert isinstance(first, Wait) and first.reason is WaitReason.LOCKED
    outcomes = world.run()
    assert (outcomes["r1"].from_version_id, outcomes["r1"].to_version_id) == ("2", "3")
    assert world.patient()["PatientAge"] == "041Y"


def test_a_pinned_request_whose_image_set_moved_on_fails_without_a_call() -> None:
    world = LaneWorld()
    world.submit(
        request(
            "pinned",
            expectedVersionId="7",
            DICOMUpdates={
                "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": "X"}}}
            },
        )
    )
    outcomes = world.run()
    assert outcomes["pinned"].error_code == "VERSION_CONFLICT"
    assert world.images.calls["UpdateImageSetMetadata"] == 0


def test_requests_of_one_group_go_in_order_and_merge_into_one_call_later_winning() -> None:
    world = LaneWorld()
    world.submit(patient_update("a", PatientName="FIRST"), patient_update("b", PatientName="SECOND"))
    outcomes = world.run()
    assert world.images.calls["UpdateImageSetMetadata"] == 1
    assert world.patient()["PatientName"] == "SECOND"
    assert outcomes["a"].to_version_id == outcomes["b"].to_version_id == "2"
    assert outcomes["a"].coalesced_request_ids == ["b"]


def test_the_members_of_a_coalesced_call_are_announced_together() -> None:
    world = LaneWorld(settle_s=0.5)
    world.submit(*(patient_update(r, PatientName=f"N^{r.upper()}") for r in ("a", "b", "c")))
    outcomes = world.run()
    assert world.images.calls["UpdateImageSetMetadata"] == 1
    assert {o.to_version_id for o in outcomes.values()} == {"2"}
    assert world.events.calls == [3]  # one PutEvents for the three outcomes
    assert world.ledger.calls["mark_published"] == 1  # and one write marking the three published
    assert all(world.ledger.entries[r].published for r in ("a", "b", "c"))
    assert len(world.audit.records) == 3  # an audit record each, as alone


def test_a_crash_between_a_coalesced_calls_events_and_their_marks_publishes_the_same_outcomes_again() -> None:
    world = LaneWorld(settle_s=0.5)
    world.submit(*(patient_update(r, PatientName=f"N^{r.upper()}") for r in ("a", "b", "c")))
    world.ledger.crash_on = "mark_published"
    with pytest.raises(Crash):
        world.run()
    first = {e.request_id: e for e in world.events.published}
    for queued in world.queue:
        queued.visible_at = world.clock.now() + 30
    world.run()
    assert world.images.calls["UpdateImageSetMetadata"] == 1
    again = world.events.published[3:]
    assert sorted(e.request_id for e in again) == ["a", "b", "c"]  # at least once, never a new outcome
    assert all(e == first[e.request_id] for e in again)
    assert all(world.ledger.entries[r].published for r in ("a", "b", "c"))


def test_a_revert_between_updates_splits_the_calls_and_keeps_their_order() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("warm", PatientName="V2"))
    world.run()
    world.submit(
        patient_update("a", PatientName="V3"),
        request("revert", revertToVersionId="1"),
        patient_update("c", PatientSex="O"),
    )
    outcomes = world.run()
    assert [outcomes[r].to_version_id for r in ("a", "revert", "c")] == ["3", "4", "5"]
    assert world.patient()["PatientName"] == "MISTER^CT"  # version 1's name, restored by the revert
    assert world.patient()["PatientSex"] == "O"


def test_a_dry_run_behind_an_update_is_answered_on_the_updated_version() -> None:
    world = LaneWorld(settle_s=0.2)
    dry = request(
        "dry",
        dryRun=True,
        DICOMUpdates={
            "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": "NEW"}}}
        },
    )
    world.submit(patient_update("a", PatientName="NEW"), dry)
    outcomes = world.run()
    assert outcomes["dry"].noop and outcomes["dry"].from_version_id == "2"
    assert world.images.calls["UpdateImageSetMetadata"] == 1


def test_a_request_already_ended_is_replayed_not_applied_again() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("r1", PatientName="ONCE"))
    world.run()
    again = patient_update("r1", PatientName="ONCE")
    from tests.unit.domain.lane_world import Queued  # noqa: PLC0415
    from updater.domain.lane_message import lane_message  # noqa: PLC0415

    world.queue.append(Queued(lane_message(again, trigger="sqs", received_at_ms=0), "dup"))
    outcomes = world.run()
    assert outcomes["r1"].to_version_id == "2"
    assert world.images.calls["UpdateImageSetMetadata"] == 1
    assert world.metrics.counts["Duplicate"] == 1
    assert len(world.events.published) == 1


def test_a_version_that_never_settles_ends_settle_timeout_with_its_version() -> None:
    world = LaneWorld(settle_s=10_000.0)
    world.submit(patient_update("r1", PatientName="STUCK"))
    outcomes = world.run(max_deliveries=500)
    assert outcomes["r1"].error_code == "SETTLE_TIMEOUT"
    assert outcomes["r1"].to_version_id == "2"


def _lane_ids() -> tuple[str, str]:
    from tests.unit.updater.factories import DATASTORE_ID, IMAGE_SET_ID  # noqa: PLC0415

    return DATASTORE_ID, IMAGE_SET_ID


def test_a_request_for_an_image_set_that_does_not_exist_ends_at_once_with_its_code() -> None:
    world = LaneWorld()
    missing = request(
        "ghost",
        imageSetId="0" * 32,
        DICOMUpdates={
            "updatableAttributes": {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": "X"}}}
        },
    )
    world.admit(json.dumps(missing.wire_dict()))
    message = LaneMessage.parse(world.lane.sent.pop()[2])
    results = world.steps.advance(message.lane, [LaneDelivery("m-ghost", message, 1)], world.clock.now() + 60)
    outcome = results["m-ghost"]
    assert isinstance(outcome, Done) and outcome.outcome.error_code == "IMAGE_SET_NOT_FOUND"
    assert [code for _, _, code, _ in world.failures.records] == ["IMAGE_SET_NOT_FOUND"]


def test_a_rejected_message_delivered_again_is_announced_once() -> None:
    world = LaneWorld()
    body = '{"datastoreId": "not-an-id"'
    first = world.admit(body)
    again = world.admit(body)
    assert first.outcome is not None and again.outcome is not None
    assert first.outcome.error_code == again.outcome.error_code == "INVALID_JSON"
    assert len(world.events.published) == len(world.failures.records) == 1
    assert world.metrics.counts["Duplicate"] == 1


def test_a_call_whose_closing_was_cut_off_is_closed_when_its_members_come_back_ended() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("r1", PatientName="A^B"))
    world.ledger.crash_on = "end_call"  # outcome stored and announced, then the invocation dies
    with pytest.raises(Crash):
        world.deliver()
    assert next(iter(world.ledger.lanes.values())).call is not None
    world.queue[0].visible_at = world.clock.now() + 30
    outcomes = world.run()
    assert outcomes["r1"].to_version_id == "2"
    assert next(iter(world.ledger.lanes.values())).call is None
    assert len(world.events.published) == 1


def test_the_version_a_lane_saw_settle_spares_the_next_request_its_read() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("first", PatientName="ONE"))
    world.run()
    reads = world.images.calls["GetImageSet"]
    world.submit(patient_update("second", PatientName="TWO"))
    first_delivery = world.deliver()["second"]
    assert isinstance(first_delivery, Done) and first_delivery.outcome.from_version_id == "2"
    polls = first_delivery.outcome.polls
    assert world.images.calls["GetImageSet"] - reads == polls  # only the settle polls, no resolve


def test_someone_elses_write_after_our_settle_is_found_by_the_calls_compare_and_swap() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("first", PatientName="ONE"))
    world.run()
    world.images.external_update(*_lane_ids(), {"PatientAge": "041Y"})
    world.clock.advance(1.0)  # the other writer's version has settled
    world.submit(patient_update("second", PatientName="TWO"))
    outcomes = world.run()
    assert (outcomes["second"].from_version_id, outcomes["second"].to_version_id) == ("3", "4")
    assert world.patient()["PatientAge"] == "041Y" and world.patient()["PatientName"] == "TWO"


def test_a_noop_decided_on_the_remembered_version_is_checked_against_a_read() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("first", PatientName="ONE"))
    world.run()
    world.images.external_update(*_lane_ids(), {"PatientName": "CHANGED^ELSEWHERE"})
    world.clock.advance(1.0)
    world.submit(patient_update("again", PatientName="ONE"))  # a no-op on version 2, not on 3
    outcomes = world.run()
    assert not outcomes["again"].noop and outcomes["again"].to_version_id == "4"
    assert world.patient()["PatientName"] == "ONE"


def test_the_backoff_grows_with_throttles_in_a_row_not_with_the_deliveries_before_them() -> None:
    world = LaneWorld()
    world.submit(patient_update("r1", PatientName="A^B"))
    world.queue[0].receives = 9  # delivered often already: waits for slots, settles, earlier requests
    for expected in (1.0, 2.0, 4.0):
        world.images.fail_next("UpdateImageSetMetadata", ThrottledError("ThrottlingException", "slow down"))
        wait = world.deliver()["r1"]
        assert isinstance(wait, Wait) and wait.reason is WaitReason.THROTTLED
        assert wait.seconds == expected
        world.clock.advance(wait.visibility_s)
    outcomes = world.run()
    assert outcomes["r1"].status is OutcomeStatus.SUCCEEDED
    assert next(iter(world.ledger.lanes.values())).retries == 0  # the call that landed reset the run
    world.submit(patient_update("r2", PatientName="C^D"))
    world.images.fail_next("UpdateImageSetMetadata", ThrottledError("ThrottlingException", "slow down"))
    wait = world.deliver()["r2"]
    assert isinstance(wait, Wait) and wait.reason is WaitReason.THROTTLED and wait.seconds == 1.0


def test_our_own_read_budget_is_waited_for_exactly_however_often_it_is_met() -> None:
    """The updater's share of a read quota knows when the next read may go: no growing backoff."""
    world = LaneWorld()
    world.submit(patient_update("r1", PatientName="A^B"))
    for _ in range(3):
        budget = ThrottledError("ReadBudget", "over this environment's share", retry_after_s=0.3)
        world.images.fail_next("GetImageSetMetadata", budget)
        wait = world.deliver()["r1"]
        assert isinstance(wait, Wait) and wait.reason is WaitReason.THROTTLED
        assert (wait.seconds, wait.visibility_s) == (0.3, 1)
        world.clock.advance(wait.visibility_s)
    assert world.ledger.calls["note_retry"] == 0
    assert world.run()["r1"].status is OutcomeStatus.SUCCEEDED


def test_a_groups_settle_wait_is_its_one_calls_and_carries_the_landing_when_one_does() -> None:
    plain = Wait(2.0, WaitReason.SETTLING, "c1")
    call = PendingCall(call_id="c1", base_version_id="1", members=("c1",), plans={}, started_at_ms=0)
    landed = replace(plain, landed=call.landed_as("2", 10))
    behind = Wait(0, WaitReason.BEHIND)
    assert settle_wait([plain, landed, behind, None]) is landed
    assert settle_wait([landed, plain]) is landed
    assert settle_wait([plain, Wait(2.0, WaitReason.SETTLING, "c2")]) is None  # two calls: no one wait
    assert settle_wait([behind, None]) is None
