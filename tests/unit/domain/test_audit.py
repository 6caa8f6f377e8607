"""Audit records: one per request that ended, with the values before and after each change."""

from __future__ import annotations

from tests.unit.domain.lane_world import LaneWorld, patient_update, request


def test_an_applied_update_leaves_one_record_with_its_values_before_and_after() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("r1", PatientName="NEW^NAME"))
    world.run()
    (record,) = world.audit.records
    assert (record.kind, record.status, record.from_version_id, record.to_version_id) == (
        "change",
        "SUCCEEDED",
        "1",
        "2",
    )
    (change,) = record.changes
    assert (change.path, change.before, change.after) == ("Patient.PatientName", "MISTER^CT", "NEW^NAME")
    assert (
        change.before == world.patient("1")["PatientName"]
        and change.after == world.patient("2")["PatientName"]
    )
    assert record.received_at_ms is not None and record.applied_at_ms is not None
    assert record.settled_at_ms is not None and record.settled_at_ms >= record.applied_at_ms


def test_members_of_a_shared_call_each_get_their_own_values() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("a", PatientName="A^A"), patient_update("b", PatientSex="F"))
    world.run()
    records = world.audit.by_request()
    assert [c.path for c in records["a"].changes] == ["Patient.PatientName"]
    assert [(c.path, c.before, c.after) for c in records["b"].changes] == [("Patient.PatientSex", "M", "F")]
    assert world.images.calls["GetImageSetMetadata"] == 2  # planning, and the base once for both records


def test_a_revert_records_the_target_versions_values_and_a_removal_its_old_value() -> None:
    world = LaneWorld(settle_s=0.2)
    world.submit(patient_update("set", PatientName="CHANGED"))
    world.run()
    world.submit(request("back", revertToVersionId="1"))
    world.run()
    (change,) = world.audit.by_request()["back"].changes
    assert (change.before, change.after) == ("CHANGED", "MISTER^CT")
    remove = {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientSex": "M"}}}
    world.submit(request("drop", DICOMUpdates={"removableAttributes": remove}))
    world.run()
    (removal,) = world.audit.by_request()["drop"].changes
    assert (removal.path, removal.before, removal.removed) == ("Patient.PatientSex", "M", True)


def test_dry_runs_no_ops_and_refusals_are_recorded_without_values() -> None:
    world = LaneWorld(settle_s=0.2)
    dry = {"updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": "X"}}}}
    world.submit(
        request("dry", dryRun=True, DICOMUpdates=dry), patient_update("same", PatientName="MISTER^CT")
    )
    world.submit(request("pinned", expectedVersionId="9", DICOMUpdates=dry))
    world.run()
    records = world.audit.by_request()
    assert {k: (r.kind, r.changes) for k, r in records.items()} == {
        "dry": ("dry-run", []),
        "same": ("no-op", []),
        "pinned": ("refusal", []),
    }
    assert records["pinned"].error_code == "VERSION_CONFLICT"
