"""Property tests of the version history under random sequences of writes, waits and failures."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from local.healthimaging import BehaviourProfile, FaultInjection, HealthImagingService, ManualClock
from local.healthimaging.errors import ConflictException
from tests.local.healthimaging.conftest import ONE_SECOND_SETTLE
from tests.local.healthimaging.core_calls import update
from tests.local.healthimaging.documents import metadata_document, update_blob

names = st.sampled_from(["A^B", "C^D", "E^F"])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("rename"), names),
        st.tuples(st.just("revert"), st.integers(min_value=1, max_value=8)),
        st.tuples(st.just("stale"), st.just("")),
        st.tuples(st.just("wait"), st.floats(min_value=0.1, max_value=3)),
    ),
    max_size=12,
)


def _run(
    step: tuple[str, Any], service: HealthImagingService, clock: ManualClock, ids: tuple[str, str]
) -> None:
    kind, argument = step
    latest = service.version_history(*ids)[-1]
    if kind == "wait":
        clock.advance(argument)
        return
    if kind == "stale":
        if latest.version_id != "1":
            try:
                update(service, *ids, "1", updatable=update_blob(Patient={"DICOM": {"PatientName": "Z"}}))
            except ConflictException:
                return
            raise AssertionError("a stale latestVersion was accepted")
        return
    try:
        if kind == "rename":
            update(
                service,
                *ids,
                latest.version_id,
                updatable=update_blob(Patient={"DICOM": {"PatientName": argument}}),
            )
        else:
            target = str(min(int(argument), int(latest.version_id)))
            update(service, *ids, latest.version_id, revert_to=target)
    except ConflictException:
        assert latest.state == "LOCKED"


@settings(max_examples=40, deadline=None)
@given(steps=steps, failure_probability=st.sampled_from([0.0, 0.5]))
def test_history_invariants_hold_for_any_sequence(
    steps: list[tuple[str, Any]], failure_probability: float
) -> None:
    clock = ManualClock()
    profile = BehaviourProfile(
        settle=ONE_SECOND_SETTLE,
        faults=FaultInjection(update_failure_probability=failure_probability),
        seed=1,
    )
    service = HealthImagingService(profile=profile, clock=clock)
    datastore_id = service.create_datastore("properties")
    ids = (datastore_id, service.seed_image_set(datastore_id, metadata_document()))
    requested_reverts: dict[str, str] = {}
    for step in steps:
        before = len(service.version_history(*ids))
        _run(step, service, clock, ids)
        history = service.version_history(*ids)
        if step[0] == "revert" and len(history) > before:
            requested_reverts[history[-1].version_id] = str(min(int(step[1]), int(history[-2].version_id)))
    clock.advance(5)
    history = service.version_history(*ids)

    assert [v.version_id for v in history] == [str(n) for n in range(1, len(history) + 1)]
    assert all(v.state == "ACTIVE" for v in history)
    for previous, version in itertools.pairwise(history):
        if version.workflow_status == "UPDATE_FAILED":
            assert version.document == previous.document
    for version_id, target in requested_reverts.items():
        reverted = history[int(version_id) - 1]
        if reverted.workflow_status == "UPDATED":
            assert reverted.document == history[int(target) - 1].document
