"""Watching a call's version: settles noticed promptly once learned, never a poll past the budget."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.domain.fakes import FakeImageSets, FakeLedger, VirtualClock
from tests.unit.updater.factories import DATASTORE_ID, IMAGE_SET_ID, metadata_document
from updater.domain.calls import OpenCall, Settled, Unsettled
from updater.domain.ledger import LaneKey, PendingCall
from updater.domain.settle import SettleEstimator, SettlePolicy, SettleSchedule

LANE = LaneKey(DATASTORE_ID, IMAGE_SET_ID)
UPDATE = {
    "DICOMUpdates": {"updatableAttributes": '{"SchemaVersion":1.1,"Patient":{"DICOM":{"PatientAge":"041Y"}}}'}
}


def _called(
    clock: VirtualClock, settle_s: float, status: str = "UPDATED"
) -> tuple[FakeImageSets, PendingCall]:
    images = FakeImageSets(clock, settle_s=settle_s)
    images.add(DATASTORE_ID, IMAGE_SET_ID, metadata_document())
    images.next_status = status
    images.update(
        DATASTORE_ID,
        IMAGE_SET_ID,
        latest_version_id="1",
        updates=UPDATE,
        force=False,
        include_study_image_sets=False,
    )
    call = PendingCall("r1", "1", ("r1",), {}, int(clock.now() * 1000)).landed_as(
        "2", int(clock.now() * 1000)
    )
    return images, call


def _watcher(
    clock: VirtualClock, images: FakeImageSets, estimator: SettleEstimator | None = None
) -> OpenCall:
    schedule = SettleSchedule(estimator, SettlePolicy(), random.Random(7))
    return OpenCall(images=images, ledger=FakeLedger(), clock=clock, schedule=schedule)


def test_returns_the_settled_version_and_counts_polls() -> None:
    clock = VirtualClock()
    images, call = _called(clock, 0.4)
    watched = _watcher(clock, images).watch(LANE, call, until_s=clock.now() + 10)
    assert isinstance(watched, Settled) and watched.version.workflow_status == "UPDATED"
    assert watched.call.polls == images.calls["GetImageSet"] >= 2


def test_update_failed_is_a_settled_answer() -> None:
    clock = VirtualClock()
    images, call = _called(clock, 0.2, status="UPDATE_FAILED")
    watched = _watcher(clock, images).watch(LANE, call, until_s=clock.now() + 10)
    assert isinstance(watched, Settled) and watched.version.update_failed


def test_a_settle_slower_than_the_budget_is_unsettled_with_the_next_poll_due() -> None:
    clock = VirtualClock()
    images, call = _called(clock, 60.0)
    until = clock.now() + 3
    watched = _watcher(clock, images).watch(LANE, call, until_s=until)
    assert isinstance(watched, Unsettled) and watched.next_poll_s > 0
    assert clock.now() < until and watched.call.polls == images.calls["GetImageSet"]


def test_learned_settle_time_cuts_polls_and_notice_lag() -> None:
    estimator = SettleEstimator()
    polls: list[int] = []
    lags: list[float] = []
    for _ in range(8):
        clock = VirtualClock()
        start = clock.now()
        images, call = _called(clock, 2.0)
        watched = _watcher(clock, images, estimator).watch(LANE, call, until_s=start + 30)
        assert isinstance(watched, Settled)
        polls.append(watched.call.polls)
        lags.append(clock.now() - (start + 2.0))
    assert polls[-1] < polls[0]
    assert lags[-1] <= 0.1 * 2.0 * 1.15  # within a tenth of the settle time (plus jitter) once learned


@pytest.mark.parametrize("settle", [1.5, 2.5, 4.0, 6.0, 9.0])
def test_once_learned_a_late_settle_is_noticed_within_a_tenth_of_its_settle_time(settle: float) -> None:
    estimator = SettleEstimator()
    for sample in (0.8, 1.0, 1.0, 1.2, 1.4):
        estimator.observe(sample)
    clock = VirtualClock()
    start = clock.now()
    images, call = _called(clock, settle)
    watched = _watcher(clock, images, estimator).watch(LANE, call, until_s=start + 60)
    assert isinstance(watched, Settled)
    assert clock.now() - (start + settle) <= 0.1 * settle * 1.15


def test_learns_when_versions_settled_not_when_they_were_noticed() -> None:
    estimator = SettleEstimator()
    for _ in range(60):
        clock = VirtualClock()
        images, call = _called(clock, 1.0)
        _watcher(clock, images, estimator).watch(LANE, call, until_s=clock.now() + 30)
    typical = estimator.typical()
    assert typical is not None and 0.9 <= typical <= 1.05


def test_a_first_look_long_after_a_crash_teaches_nothing() -> None:
    estimator = SettleEstimator()
    clock = VirtualClock()
    images, call = _called(clock, 1.0)
    clock.advance(30.0)  # the invocation died; the lane's next delivery comes much later
    watched = _watcher(clock, images, estimator).watch(LANE, call, until_s=clock.now() + 10)
    assert isinstance(watched, Settled) and list(estimator.samples) == []


@settings(max_examples=60, deadline=None)
@given(settle=st.floats(min_value=0.01, max_value=20), budget=st.floats(min_value=0.5, max_value=30))
def test_never_polls_after_the_budget_except_the_one_look(settle: float, budget: float) -> None:
    clock = VirtualClock()
    start = clock.now()
    images, call = _called(clock, settle)
    watched = _watcher(clock, images).watch(LANE, call, until_s=start + budget)
    assert clock.now() <= start + budget
    if isinstance(watched, Settled):
        assert clock.now() >= start + settle
