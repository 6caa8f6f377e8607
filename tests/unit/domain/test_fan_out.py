"""Selectors fan out to one ordinary child per image set; the parent ends once, with one aggregate
outcome, whatever the order of its children's ends, redeliveries and crashes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.domain.fakes import Crash
from tests.unit.domain.fan_out_world import FanOutWorld
from tests.unit.updater.factories import DATASTORE_ID
from updater.domain.errors import FailureCode
from updater.domain.intake import Admission
from updater.domain.outcome import OutcomeStatus, UpdateOutcome
from updater.domain.selectors import child_request_id


def patient_correction(request_id: str = "fix-name", **extra: Any) -> dict[str, Any]:
    return {
        "datastoreId": DATASTORE_ID,
        "requestId": request_id,
        "selector": {"patient": {"PatientID": "2178309"}},
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": "DOE^JANE"}}}
        },
        **extra,
    }


def test_a_patient_selector_corrects_every_image_set_with_one_aggregate_outcome() -> None:
    world = FanOutWorld(image_sets=3)
    assert world.admit(patient_correction()).admission is Admission.FORWARDED
    messages = world.lane_messages()
    assert sorted(m.request.image_set_id for m in messages) == world.ids
    assert {m.request.request_id for m in messages} == {child_request_id("fix-name", i) for i in world.ids}
    outcomes = world.run_lanes(messages)
    assert {o.status for o in outcomes.values()} == {OutcomeStatus.SUCCEEDED}
    assert all(world.patient(i)["PatientName"] == "DOE^JANE" for i in world.ids)
    ((detail_type, detail),) = world.batch_events()
    assert detail_type == "ImageSetMetadataUpdate.BatchSucceeded"
    assert (detail["matched"], detail["succeeded"], detail["failed"]) == (3, 3, 0)
    assert {(c["imageSetId"], c["fromVersionId"], c["toVersionId"]) for c in detail["children"]} == {
        (i, "1", "2") for i in world.ids
    }
    assert "2178309" not in str(detail) and "DOE" not in str(detail)  # selector and values never shown


def test_a_replayed_parent_fans_out_to_the_same_children_and_no_second_time() -> None:
    world = FanOutWorld(image_sets=2)
    world.admit(patient_correction())
    first = world.lane_messages()
    assert world.admit(patient_correction()).admission is Admission.DUPLICATE
    assert world.lane_messages() == []
    world.run_lanes(first)
    assert world.admit(patient_correction()).admission is Admission.DUPLICATE
    assert world.lane_messages() == [] and len(world.batch_events()) == 1
    assert world.search.calls == 1


def test_a_merge_sets_the_new_identity_on_every_image_set_of_the_old_patient() -> None:
    world = FanOutWorld(image_sets=2)
    merge = {
        "datastoreId": DATASTORE_ID,
        "requestId": "a40-1",
        "merge": {
            "from": {"PatientID": "2178309"},
            "into": {"PatientID": "NEW-77", "IssuerOfPatientID": "HOSP", "PatientName": "MERGED^PAT"},
        },
    }
    world.admit(merge)
    world.run_lanes(world.lane_messages())
    for image_set in world.ids:
        patient = world.patient(image_set)
        assert (patient["PatientID"], patient["IssuerOfPatientID"]) == ("NEW-77", "HOSP")
    ((_, detail),) = world.batch_events()
    assert (detail["operation"], detail["status"]) == ("merge", "SUCCEEDED")
    # Replayed after every image set left the old PatientID: the recorded children, no new search.
    world.admit(merge)
    assert world.lane_messages() == [] and world.search.calls == 1


def test_an_image_set_that_no_longer_matches_is_counted_apart_and_left_unchanged() -> None:
    world = FanOutWorld(image_sets=3)
    world.admit(patient_correction())
    messages = world.lane_messages()
    world.images.external_update(DATASTORE_ID, world.ids[0], {"PatientID": "SOMEONE-ELSE"})
    world.clock.advance(5)
    outcomes = world.run_lanes(messages)
    assert outcomes[child_request_id("fix-name", world.ids[0])].error_code is FailureCode.SELECTOR_NOT_MATCHED
    assert world.patient(world.ids[0])["PatientName"] == "MISTER^CT"
    ((detail_type, detail),) = world.batch_events()
    assert detail_type == "ImageSetMetadataUpdate.BatchSucceeded"
    assert (detail["succeeded"], detail["notMatched"], detail["failed"]) == (2, 1, 0)


def test_a_precondition_mismatch_fails_every_child_and_the_parent_without_a_version() -> None:
    world = FanOutWorld(image_sets=2)
    world.admit(patient_correction(expect={"Patient": {"PatientName": "NOT^THIS"}}))
    outcomes = world.run_lanes(world.lane_messages())
    assert {o.error_code for o in outcomes.values()} == {FailureCode.PRECONDITION_FAILED}
    assert all(world.images.versions(DATASTORE_ID, i) == 1 for i in world.ids)
    ((detail_type, detail),) = world.batch_events()
    assert (detail_type, detail["errorCode"]) == ("ImageSetMetadataUpdate.BatchFailed", "CHILDREN_FAILED")


def test_an_empty_match_is_its_own_failure_not_a_success() -> None:
    world = FanOutWorld(image_sets=2)
    body = patient_correction()
    body["selector"] = {"patient": {"PatientID": "NOBODY"}}
    assert world.admit(body).admission is Admission.REJECTED
    ((detail_type, detail),) = world.batch_events()
    assert (detail_type, detail["errorCode"]) == (
        "ImageSetMetadataUpdate.BatchFailed",
        "SELECTOR_MATCHED_NOTHING",
    )
    assert [code for _, _, code, _ in world.failures.records] == ["SELECTOR_MATCHED_NOTHING"]
    # The record keeps the request's body (for a retry, as every failure record does); its reason
    # and the event name no value.
    assert "NOBODY" not in str([record[1:] for record in world.failures.records])
    assert "NOBODY" not in str(detail)


def test_a_match_larger_than_the_limit_fans_out_nothing() -> None:
    world = FanOutWorld(image_sets=3, max_fan_out=2)
    world.admit(patient_correction())
    assert world.lane_messages() == []
    ((_, detail),) = world.batch_events()
    assert detail["errorCode"] == "FAN_OUT_TOO_LARGE"


def test_a_study_wide_call_is_used_only_where_it_is_equivalent() -> None:
    world = FanOutWorld(image_sets=3)
    body = patient_correction("study-fix", includeStudyImageSets=True)
    body["selector"] = {"study": {"StudyInstanceUID": "1.2.3.0"}}  # image sets 1 and 3
    world.admit(body)
    (message,) = world.lane_messages()
    assert message.request.include_study_image_sets
    world.search.primary = False  # a non-primary image set is not reached by a study-wide call
    world.admit({**body, "requestId": "study-fix-2"})
    messages = world.lane_messages()
    assert len(messages) == 2 and not any(m.request.include_study_image_sets for m in messages)


def test_a_crash_after_a_child_ended_before_its_parent_counted_it_is_repaired_by_its_redelivery() -> None:
    world = FanOutWorld(image_sets=2)
    world.admit(patient_correction())
    first, second = world.lane_messages()
    world.run_lanes([first])
    world.fan_outs.crash_on = "child_ended"
    with pytest.raises(Crash):
        world.run_lanes([second])
    assert world.batch_events() == []
    world.run_lanes([second])  # the lane message comes back: the child replays and is counted
    assert len(world.batch_events()) == 1


@settings(max_examples=60, deadline=None)
@given(
    statuses=st.lists(st.sampled_from(["ok", "noop", "failed", "not-matched"]), min_size=1, max_size=5),
    data=st.data(),
)
def test_any_order_of_ends_replays_and_crashes_makes_exactly_one_parent_outcome(
    statuses: list[str], data: st.DataObject
) -> None:
    """Children end in any order, some again (replays), with crashes at any point of the parent's
    bookkeeping; then every lane message comes back once more, as SQS brings back what a crash left.
    One outcome is stored; it is published, and again only where a crash cut off its marking as
    published (at least once, as every outcome of the updater)."""
    world = FanOutWorld(image_sets=len(statuses))
    world.admit(patient_correction())
    children = {m.request.image_set_id: m for m in world.lane_messages()}
    outcomes = {
        image_set: _child_outcome(children[image_set], status)
        for image_set, status in zip(world.ids, statuses, strict=True)
    }
    ends = [*world.ids, *data.draw(st.lists(st.sampled_from(world.ids), max_size=6))]
    cut_off_marks = 0
    for image_set in data.draw(st.permutations(ends)):
        crash = data.draw(st.sampled_from([None, "child_ended", "publish", "mark_published"]))
        published_before = len(world.batch_events())
        try:
            _arm(world, crash)
            _end_or_replay(world, outcomes[image_set])
        except Crash:
            if crash == "mark_published" and len(world.batch_events()) > published_before:
                cut_off_marks += 1
        _disarm(world)
    for image_set in world.ids:
        _end_or_replay(world, outcomes[image_set])
    parent = world.ledger.entries["fix-name"]
    assert parent.terminal and parent.published
    events = world.batch_events()
    assert 1 <= len(events) <= 1 + cut_off_marks
    assert all(detail == events[0][1] for _, detail in events)
    detail = events[0][1]
    assert detail["succeeded"] == statuses.count("ok") + statuses.count("noop")
    assert detail["unchanged"] == statuses.count("noop")
    assert detail["failed"] == statuses.count("failed")
    assert detail["notMatched"] == statuses.count("not-matched")
    if statuses.count("failed") == 0 and detail["succeeded"]:
        expected = "BatchSucceeded"
    elif detail["succeeded"]:
        expected = "BatchPartiallyFailed"
    else:
        expected = "BatchFailed"
    assert events[0][0] == f"ImageSetMetadataUpdate.{expected}"


def _end_or_replay(world: FanOutWorld, outcome: UpdateOutcome) -> None:
    entry = world.ledger.entries[outcome.request_id]
    if entry.terminal:
        world.recorder.replay(entry, "{}")
    else:
        world.recorder.finish(outcome, "{}")


def _arm(world: FanOutWorld, crash: str | None) -> None:
    if crash == "child_ended":
        world.fan_outs.crash_on = crash
    elif crash == "publish":
        world.events.crash_next = True
    elif crash == "mark_published":
        world.ledger.crash_on = crash


def _disarm(world: FanOutWorld) -> None:
    world.fan_outs.crash_on = None
    world.events.crash_next = False
    world.ledger.crash_on = None


def _child_outcome(message: Any, status: str) -> UpdateOutcome:
    request = message.request
    outcome = UpdateOutcome(
        request_id=request.request_id,
        datastore_id=request.datastore_id,
        image_set_id=request.image_set_id,
        status=OutcomeStatus.SUCCEEDED,
        trigger="sqs",
        from_version_id="1",
        to_version_id="1" if status == "noop" else "2",
        noop=status == "noop",
    )
    if status == "failed":
        return outcome.failed(FailureCode.UPDATE_FAILED, "update failed")
    if status == "not-matched":
        return outcome.failed(FailureCode.SELECTOR_NOT_MATCHED, "no longer matched")
    return outcome


def test_an_hl7_a08_from_the_ingest_queue_fans_out_like_a_selector_request() -> None:
    world = FanOutWorld(image_sets=2)
    a08 = "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|CTRL-1|P|2.5\rPID|1||2178309^^^^MR||ROE^RICHARD||19700101|M\r"
    assert world.admit(a08, "application/hl7-v2").admission is Admission.FORWARDED
    outcomes = world.run_lanes(world.lane_messages())
    assert {o.trigger for o in outcomes.values()} == {"hl7"}
    assert all(world.patient(i)["PatientName"] == "ROE^RICHARD" for i in world.ids)
    ((_, detail),) = world.batch_events()
    assert (detail["requestId"], detail["trigger"], detail["succeeded"]) == ("hl7-CTRL-1", "hl7", 2)
    assert world.admit(a08, "application/hl7-v2").admission is Admission.DUPLICATE


def test_an_unknown_content_type_is_refused_without_repeating_it() -> None:
    world = FanOutWorld(image_sets=1)
    assert world.admit("<xml/>", "text/x-SECRET").admission is Admission.REJECTED
    assert [code for _, _, code, _ in world.failures.records] == ["UNSUPPORTED_CONTENT_TYPE"]
    assert "SECRET" not in str(world.events.published)
