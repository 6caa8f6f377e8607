"""Settle notices: an event ends the lane's wait, no read is spent on it, and no wake-up is lost."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.domain.lane_world import LANE, LaneWorld, patient_update
from tests.unit.updater.factories import DATASTORE_ID, IMAGE_SET_ID
from updater.domain.notices import SettleNotice, parse_settle_notice
from updater.domain.outcome import OutcomeStatus
from updater.domain.steps import Wait, WaitReason


def test_a_notice_ends_the_wait_and_the_settle_costs_no_read() -> None:
    world = LaneWorld(settle_s=1.0, notices=True)
    world.submit(patient_update("r1", PatientName="NOTICED"))
    first = world.deliver()["r1"]
    assert isinstance(first, Wait) and first.reason is WaitReason.SETTLING and first.call_id == "r1"
    reads_before_settle = world.images.calls["GetImageSet"]
    outcomes = world.run()
    assert outcomes["r1"].status is OutcomeStatus.SUCCEEDED and outcomes["r1"].to_version_id == "2"
    assert world.images.calls["GetImageSet"] == reads_before_settle  # no poll: the event said it
    assert outcomes["r1"].polls == 0
    assert outcomes["r1"].settle_ms == pytest.approx(1000, abs=5)  # noticed when it settled


def test_a_notice_wakes_the_waiting_lane_when_it_comes_not_when_the_wait_would_end() -> None:
    world = LaneWorld(settle_s=0.3, notices=True)
    world.submit(patient_update("r1", PatientName="WOKEN"))
    called_at = world.clock.now()
    first = world.deliver()["r1"]
    assert isinstance(first, Wait) and first.visibility_s >= 1.0  # the notice window, 2 s at first
    outcomes = world.run()
    assert outcomes["r1"].polls == 0
    assert world.clock.now() - called_at == pytest.approx(0.3, abs=0.01)  # ended at the notice


def test_a_new_calls_landing_is_saved_with_its_waiters_registration_in_one_write() -> None:
    world = LaneWorld(settle_s=1.0, notices=True)
    world.submit(patient_update("r1", PatientName="SAVED"))
    first = world.deliver()["r1"]
    assert isinstance(first, Wait) and first.landed is not None and first.landed.to_version_id == "2"
    assert world.ledger.calls["save_call"] == 0 and world.ledger.calls["wait_for_notice"] == 1
    call = world.ledger.lanes[LANE].call
    assert call is not None and call.to_version_id == "2"  # what save_call would have written
    assert world.run()["r1"].to_version_id == "2"


def test_a_landing_never_saved_costs_the_next_delivery_a_read_and_nothing_else() -> None:
    """The handler could not hide the messages (or crashed) before registering them: the call is
    known only as begun, and the next delivery reads the image set to find it landed (then polls
    its version once, its waiters never having been registered for the notice)."""
    world = LaneWorld(settle_s=1.0, notices=True)
    world.submit(patient_update("r1", PatientName="UNSAVED"))
    world.steps.await_notice = lambda *_args, **_kw: False  # type: ignore[method-assign]
    world.deliver()
    assert world.ledger.lanes[LANE].call is not None and world.ledger.lanes[LANE].call.to_version_id is None
    reads = world.images.calls["GetImageSet"]
    world.clock.advance(5.0)
    outcomes = world.run()
    assert outcomes["r1"].status is OutcomeStatus.SUCCEEDED and outcomes["r1"].to_version_id == "2"
    assert world.images.calls["UpdateImageSetMetadata"] == 1
    assert world.images.calls["GetImageSet"] == reads + 2


def test_a_lost_notice_falls_back_to_polling_after_the_usual_settle() -> None:
    world = LaneWorld(settle_s=1.0, notices=True, notice_lost=frozenset({"2"}))
    world.submit(patient_update("r1", PatientName="POLLED"))
    outcomes = world.run()
    assert outcomes["r1"].to_version_id == "2"
    assert outcomes["r1"].polls >= 1


def test_a_notice_before_the_waiters_registered_wakes_them_at_registration() -> None:
    world = LaneWorld(settle_s=0.2, notices=True)
    world.submit(patient_update("r1", PatientName="EARLY"))
    world.clock.advance(0.0)
    results = world.steps.advance(LANE, [_delivery(world)], world.clock.now() + 60)
    wait = results["m-0"]
    assert isinstance(wait, Wait) and wait.call_id == "r1"
    world.clock.advance(0.5)  # settled; the event arrives before the handler registered the waiter
    assert world.settle_notices.receive(SettleNotice(LANE, "2", "UPDATED"))
    assert world.steps.await_notice(LANE, wait, ["m-0"]) is True  # the handler wakes it at once


def test_an_update_failed_notice_reads_the_version_once_for_its_message() -> None:
    world = LaneWorld(settle_s=1.0, notices=True)
    world.images.next_status = "UPDATE_FAILED"
    world.submit(patient_update("r1", PatientName="BAD"))
    world.deliver()
    reads = world.images.calls["GetImageSet"]
    outcomes = world.run()
    assert outcomes["r1"].error_code == "UPDATE_FAILED" and outcomes["r1"].to_version_id == "2"
    assert world.images.calls["GetImageSet"] == reads + 1


def test_a_notice_for_a_version_the_updater_did_not_make_is_ignored() -> None:
    world = LaneWorld(notices=True)
    assert world.settle_notices.receive(SettleNotice(LANE, "7", "UPDATED")) is False
    assert world.metrics.counts["NoticeIgnored"] == 1


def _delivery(world: LaneWorld) -> Any:
    from updater.domain.lane_message import LaneDelivery  # noqa: PLC0415

    return LaneDelivery("m-0", world.queue[0].message, 1)


def _event(detail: dict[str, Any], detail_type: str = "Image Set Updated", **envelope: Any) -> dict[str, Any]:
    return {"source": "aws.medical-imaging", "detail-type": detail_type, "detail": detail, **envelope}


@pytest.mark.parametrize("key", ["imageSetId", "imagesetId"])
def test_either_spelling_of_the_image_set_id_is_read(key: str) -> None:
    notice = parse_settle_notice(
        _event({"datastoreId": DATASTORE_ID, key: IMAGE_SET_ID, "imageSetVersion": "3"})
    )
    assert notice == SettleNotice(LANE, "3", "UPDATED")


def test_the_image_set_arn_stands_in_for_a_missing_id_and_failures_are_told_apart() -> None:
    arn = f"arn:aws:medical-imaging:us-east-1:123456789012:datastore/{DATASTORE_ID}/imageset/{IMAGE_SET_ID}"
    event = _event(
        {"datastoreId": DATASTORE_ID, "imageSetVersion": 4}, "Image Set Update Failed", resources=[arn]
    )
    assert parse_settle_notice(event) == SettleNotice(LANE, "4", "UPDATE_FAILED")


@pytest.mark.parametrize(
    "detail",
    [
        {"datastoreId": DATASTORE_ID, "imageSetId": IMAGE_SET_ID, "imageSetVersion": "\u0663"},
        {"datastoreId": DATASTORE_ID, "imageSetId": "NOT-AN-ID", "imageSetVersion": "1"},
        {"datastoreId": "x", "imageSetId": IMAGE_SET_ID, "imageSetVersion": "1"},
        {"datastoreId": DATASTORE_ID, "imageSetId": IMAGE_SET_ID},
    ],
)
def test_malformed_settle_events_are_not_notices(detail: dict[str, Any]) -> None:
    assert parse_settle_notice(_event(detail)) is None
