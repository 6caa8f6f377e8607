"""Primary image sets: refused before the call under strict rules, learned from the service's
refusal under `learn`, reported with their own code whatever the rules, never failing batch-mates."""

from __future__ import annotations

import pytest

from tests.unit.domain.lane_world import LaneWorld, patient_update, request
from updater.domain.primary_rules import restricted_on_primary

STUDY = {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": "ALLOWED"}}}


def _doc(**levels: object) -> dict[str, object]:
    return {"SchemaVersion": 1.1, **levels}


def study_update(request_id: str) -> object:
    return request(request_id, DICOMUpdates={"updatableAttributes": STUDY})


def test_strict_rules_refuse_a_patient_change_on_a_primary_image_set_before_the_call() -> None:
    world = LaneWorld(primary_rules="strict")
    world.submit(patient_update("patient", PatientName="NEW^NAME"))
    outcomes = world.run()
    assert outcomes["patient"].error_code == "PRIMARY_IMAGE_SET_RESTRICTED"
    assert "copy the image set" in (outcomes["patient"].error_message or "")
    assert world.images.calls["UpdateImageSetMetadata"] == 0


def test_strict_rules_let_study_changes_and_non_primary_image_sets_through() -> None:
    world = LaneWorld(primary_rules="strict")
    world.submit(study_update("study"))  # type: ignore[arg-type]
    assert world.run()["study"].status == "SUCCEEDED"
    copy = LaneWorld(primary_rules="strict")
    copy.images.primary = False  # a non-primary image set (a copy, or data that conflicted)
    copy.submit(patient_update("patient", PatientName="NEW^NAME"))
    assert copy.run()["patient"].status == "SUCCEEDED"


def test_learn_rules_map_the_services_refusal_and_then_refuse_before_calling() -> None:
    world = LaneWorld(primary_rules="learn", settle_s=0.2)
    world.images.strict_primary = True
    world.submit(patient_update("first", PatientName="ONE"))
    assert world.run()["first"].error_code == "PRIMARY_IMAGE_SET_RESTRICTED"
    calls = world.images.calls["UpdateImageSetMetadata"]
    world.submit(patient_update("second", PatientName="TWO"))
    assert world.run()["second"].error_code == "PRIMARY_IMAGE_SET_RESTRICTED"
    assert world.images.calls["UpdateImageSetMetadata"] == calls  # learned: no call spent on it


def test_a_refused_shared_call_fails_only_the_restricted_request() -> None:
    world = LaneWorld(primary_rules="learn", settle_s=0.2)
    world.images.strict_primary = True
    world.submit(patient_update("patient", PatientName="REFUSED"), study_update("study"))  # type: ignore[arg-type]
    outcomes = world.run()
    assert outcomes["patient"].error_code == "PRIMARY_IMAGE_SET_RESTRICTED"
    assert outcomes["study"].status == "SUCCEEDED" and outcomes["study"].coalesced_request_ids == []


def test_legacy_rules_call_every_time_but_still_report_the_refusal_by_its_code() -> None:
    world = LaneWorld(primary_rules="legacy", settle_s=0.2)
    world.images.strict_primary = True
    for name in ("first", "second"):
        world.submit(patient_update(name, PatientName=name.upper()))
        assert world.run()[name].error_code == "PRIMARY_IMAGE_SET_RESTRICTED"
    assert world.images.calls["UpdateImageSetMetadata"] == 2


@pytest.mark.parametrize(
    ("fields", "restricted"),
    [
        (
            {
                "DICOMUpdates": {
                    "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientAge": "1"}}}
                }
            },
            True,
        ),
        ({"DICOMUpdates": {"updatableAttributes": STUDY}}, False),
        (
            {
                "DICOMUpdates": {
                    "removableAttributes": {"SchemaVersion": 1.1, "Study": {"Series": {"1.2": {}}}}
                }
            },
            True,
        ),
        (
            {
                "force": True,
                "DICOMUpdates": {
                    "updatableAttributes": {
                        "SchemaVersion": 1.1,
                        "Study": {"DICOM": {"StudyInstanceUID": "1.2.3"}},
                    }
                },
            },
            True,
        ),
        ({"revertToVersionId": "1"}, False),
    ],
)
def test_which_changes_the_newest_guide_forbids_on_primary_image_sets(fields: dict, restricted: bool) -> None:
    assert restricted_on_primary(request("r", **fields)) is restricted
