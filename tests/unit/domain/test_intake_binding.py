"""A requestId is bound to the content that first used it: other content under the same requestId
ends REQUEST_ID_REUSED under a key of its own, and the original request keeps its entry and its
outcome, whichever of the two came first. On fakes, through intake and the lane's steps."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.domain.lane_world import (
    CALLER_ORIGIN,
    TEST_PROVENANCE,
    TEST_SENDER,
    LaneWorld,
    patient_update,
)
from tests.unit.updater.factories import DATASTORE_ID, IMAGE_SET_ID
from updater.domain.identifiers import fingerprint, reused_key
from updater.domain.intake import Admission
from updater.domain.outcome import UpdateOutcome
from updater.domain.request import parse_update_request


def body(request_id: str, **dicom: Any) -> str:
    return json.dumps(patient_update(request_id, **dicom).wire_dict())


def test_other_content_under_a_requestid_in_flight_ends_reused_and_the_original_succeeds() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("r1", PatientName="A^B"))
    newcomer = world.admit(body("r1", PatientName="C^D"))

    assert newcomer.admission is Admission.REJECTED and newcomer.outcome is not None
    digest = patient_update("r1", PatientName="C^D").content_digest()
    assert newcomer.outcome.request_id == reused_key("r1", digest)
    assert newcomer.outcome.reused_request_id == "r1"
    assert newcomer.outcome.error_code == "REQUEST_ID_REUSED"
    assert world.ledger.entries["r1"].outcome is None  # the original's entry is untouched
    outcomes = world.run()
    assert outcomes["r1"].status == "SUCCEEDED"
    assert world.patient()["PatientName"] == "A^B"
    assert [(r, c) for _, r, c, _ in world.failures.records] == [
        (newcomer.outcome.request_id, "REQUEST_ID_REUSED")
    ]


def test_junk_that_came_first_holds_its_requestid_and_the_real_request_ends_reused() -> None:
    world = LaneWorld()
    junk = world.admit(json.dumps({"requestId": "r1", "datastoreId": DATASTORE_ID, "junk": True}))
    real = world.admit(body("r1", PatientName="A^B"))

    assert junk.outcome is not None and junk.outcome.error_code == "SCHEMA_VIOLATION"
    assert real.outcome is not None and real.outcome.error_code == "REQUEST_ID_REUSED"
    assert (real.outcome.datastore_id, real.outcome.image_set_id) == (DATASTORE_ID, IMAGE_SET_ID)
    assert world.lane.sent == []  # nothing of it reached the lane
    # Every outcome has a key of its own: a consumer keyed by requestId sees one outcome per key.
    keys = [o.request_id for o in world.events.published]
    assert len(keys) == len(set(keys)) == 2


def test_the_same_content_again_is_a_duplicate_whichever_trigger_brought_it() -> None:
    world = LaneWorld()
    request = patient_update("r1", PatientName="A^B")
    world.admit(json.dumps(request.wire_dict()))
    again = world.intake.admit_request(
        parse_update_request(request.wire_dict()),
        trigger="eventbridge",
        body="{}",
        sender=TEST_PROVENANCE.callers.from_queue(TEST_SENDER),
    )
    assert again.admission is Admission.FORWARDED  # not ended yet: the lane takes it once
    assert world.metrics.counts["RequestIdReused"] == 0


def test_a_newcomer_delivered_again_replays_its_own_outcome() -> None:
    world = LaneWorld()
    world.submit(patient_update("r1", PatientName="A^B"))
    first = world.admit(body("r1", PatientName="C^D"))
    again = world.admit(body("r1", PatientName="C^D"))
    assert first.outcome is not None and again.outcome is not None
    assert again.admission is Admission.DUPLICATE and again.outcome.request_id == first.outcome.request_id
    assert len(world.failures.records) == 1


def test_an_invalid_requestid_is_reported_by_fingerprint_and_bound_like_any_other() -> None:
    world = LaneWorld()
    secret = "SMITH JOHN 1970"
    first = world.admit(body(secret, PatientName="A^B"))
    other = world.admit(body(secret, PatientName="C^D"))

    assert first.outcome is not None and first.outcome.error_code == "INVALID_REQUEST_ID"
    assert first.outcome.request_id == "invalid:" + fingerprint(secret)
    assert other.outcome is not None and other.outcome.error_code == "REQUEST_ID_REUSED"
    assert other.outcome.reused_request_id == first.outcome.request_id
    assert all(secret not in key for key in world.ledger.entries)
    assert all(secret not in str(record[1:]) for record in world.failures.records)


def test_a_requestid_in_a_form_the_updater_derives_is_refused() -> None:
    world = LaneWorld()
    for reserved in ("invalid:sha256:0123456789ab:len3", "reused:0123456789ab:r1", "body-" + "0" * 32):
        admitted = world.admit(body(reserved, PatientName="A^B"))
        assert admitted.outcome is not None and admitted.outcome.error_code == "INVALID_REQUEST_ID"
        assert admitted.outcome.request_id.startswith("invalid:sha256:")


def test_the_finalizer_ends_a_reusing_newcomer_reused_and_keeps_the_original() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("r1", PatientName="A^B"))
    outcome = world.finalizer.intake_message(body("r1", PatientName="C^D"), CALLER_ORIGIN)
    assert isinstance(outcome, UpdateOutcome) and outcome.error_code == "REQUEST_ID_REUSED"
    assert world.run()["r1"].status == "SUCCEEDED"
