"""UpdateImageSetMetadata's state machine on the core, with a manual clock."""

from __future__ import annotations

import pytest

from local.healthimaging import BehaviourProfile, FaultInjection, HealthImagingService, ManualClock
from local.healthimaging.errors import ConflictException, ResourceNotFoundException, ValidationException
from tests.local.healthimaging.conftest import ONE_SECOND_SETTLE
from tests.local.healthimaging.core_calls import get_image_set, update
from tests.local.healthimaging.documents import metadata_document, update_blob

RENAME = update_blob(Patient={"DICOM": {"PatientName": "MX^MX"}})


def test_update_returns_the_new_version_locked_then_settles_to_updated(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    response = update(service, datastore_id, image_set_id, "1", updatable=RENAME)

    assert (response["latestVersionId"], response["imageSetState"], response["imageSetWorkflowStatus"]) == (
        "2", "LOCKED", "UPDATING",
    )  # fmt: skip
    assert get_image_set(service, datastore_id, image_set_id)["imageSetState"] == "LOCKED"
    clock.advance(1.5)
    settled = get_image_set(service, datastore_id, image_set_id)
    assert (settled["versionId"], settled["imageSetState"], settled["imageSetWorkflowStatus"]) == (
        "2", "ACTIVE", "UPDATED",
    )  # fmt: skip
    assert service.current_metadata(datastore_id, image_set_id)["Patient"]["DICOM"]["PatientName"] == "MX^MX"


def test_locked_metadata_is_the_previous_version_until_settled(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    update(service, datastore_id, image_set_id, "1", updatable=RENAME)

    assert (
        service.current_metadata(datastore_id, image_set_id)["Patient"]["DICOM"]["PatientName"] == "DOE^JANE"
    )


def test_a_write_to_a_locked_image_set_is_a_conflict(
    service: HealthImagingService, datastore_id: str, image_set_id: str
) -> None:
    update(service, datastore_id, image_set_id, "1", updatable=RENAME)

    with pytest.raises(ConflictException, match="LOCKED"):
        update(service, datastore_id, image_set_id, "2", updatable=RENAME)


def test_a_stale_latest_version_is_a_conflict(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    update(service, datastore_id, image_set_id, "1", updatable=RENAME)
    clock.advance(2)

    with pytest.raises(ConflictException, match="latest"):
        update(service, datastore_id, image_set_id, "1", updatable=RENAME)
    assert service.call_log.call_counts(error_code="ConflictException") == {"UpdateImageSetMetadata": 1}


def test_a_failed_update_keeps_its_version_and_the_previous_metadata(
    clock: ManualClock,
) -> None:
    failing = BehaviourProfile(
        settle=ONE_SECOND_SETTLE, faults=FaultInjection(update_failure_probability=1.0)
    )
    service = HealthImagingService(profile=failing, clock=clock)
    datastore_id = service.create_datastore("failing")
    image_set_id = service.seed_image_set(datastore_id, metadata_document())
    before = service.current_metadata(datastore_id, image_set_id)

    update(service, datastore_id, image_set_id, "1", updatable=RENAME)
    clock.advance(2)

    failed = get_image_set(service, datastore_id, image_set_id)
    assert (failed["versionId"], failed["imageSetState"], failed["imageSetWorkflowStatus"]) == (
        "2", "ACTIVE", "UPDATE_FAILED",
    )  # fmt: skip
    assert failed["message"]
    assert service.current_metadata(datastore_id, image_set_id) == before
    # The failed version counts as the latest one.
    with pytest.raises(ConflictException):
        update(service, datastore_id, image_set_id, "1", updatable=RENAME)


def test_a_value_that_does_not_fit_its_vr_fails_asynchronously(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    update(
        service,
        datastore_id,
        image_set_id,
        "1",
        updatable=update_blob(Study={"DICOM": {"StudyDate": "01/02/2024"}}),
    )
    clock.advance(2)

    failed = get_image_set(service, datastore_id, image_set_id)
    assert failed["imageSetWorkflowStatus"] == "UPDATE_FAILED"
    assert "StudyDate" in failed["message"]
    assert "01/02/2024" not in failed["message"]


def test_revert_restores_the_exact_document_of_the_earlier_version(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    original = service.current_metadata(datastore_id, image_set_id)
    update(service, datastore_id, image_set_id, "1", updatable=RENAME)
    clock.advance(2)
    update(
        service,
        datastore_id,
        image_set_id,
        "2",
        removable=update_blob(Study={"DICOM": {"StudyDescription": "CHEST"}}),
    )
    clock.advance(2)

    response = update(service, datastore_id, image_set_id, "3", revert_to="1")
    clock.advance(2)

    assert response["latestVersionId"] == "4"
    assert service.current_metadata(datastore_id, image_set_id) == original
    assert [v.workflow_status for v in service.version_history(datastore_id, image_set_id)] == [
        "CREATED", "UPDATED", "UPDATED", "UPDATED",
    ]  # fmt: skip


def test_revert_to_a_missing_version_is_rejected(
    service: HealthImagingService, datastore_id: str, image_set_id: str
) -> None:
    with pytest.raises(ValidationException):
        update(service, datastore_id, image_set_id, "1", revert_to="7")


def test_both_or_neither_union_member_is_rejected(
    service: HealthImagingService, datastore_id: str, image_set_id: str
) -> None:
    with pytest.raises(ValidationException):
        update(service, datastore_id, image_set_id, "1", updatable=RENAME, revert_to="1")
    with pytest.raises(ValidationException):
        update(service, datastore_id, image_set_id, "1")


def test_forced_versions_carry_the_override_flag(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    update(service, datastore_id, image_set_id, "1", updatable=RENAME, force=True)
    clock.advance(2)

    assert get_image_set(service, datastore_id, image_set_id)["overrides"] == {"forced": True}
    assert "overrides" not in get_image_set(service, datastore_id, image_set_id, version="1")


def test_include_study_image_sets_updates_every_image_set_of_the_study(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    sibling = service.seed_image_set(
        datastore_id, metadata_document(series_uid="1.2.3.9", instance_uids=("1.2.3.9.1",))
    )
    other_study = service.seed_image_set(datastore_id, metadata_document(study_uid="1.2.3.77"))

    update(service, datastore_id, image_set_id, "1", updatable=RENAME, include_study=True)

    assert (
        get_image_set(service, datastore_id, sibling)["imageSetWorkflowStatus"]
        == "UPDATING_FOR_STUDY_CONSISTENCY"
    )
    assert get_image_set(service, datastore_id, other_study)["versionId"] == "1"
    clock.advance(2)
    for changed in (image_set_id, sibling):
        assert get_image_set(service, datastore_id, changed)["versionId"] == "2"
        assert service.current_metadata(datastore_id, changed)["Patient"]["DICOM"]["PatientName"] == "MX^MX"
    assert (
        service.current_metadata(datastore_id, other_study)["Patient"]["DICOM"]["PatientName"] == "DOE^JANE"
    )


def test_include_study_image_sets_is_not_supported_with_revert(
    service: HealthImagingService, datastore_id: str, image_set_id: str
) -> None:
    with pytest.raises(ValidationException):
        update(service, datastore_id, image_set_id, "1", revert_to="1", include_study=True)


def test_unknown_image_set_and_version_are_not_found(
    service: HealthImagingService, datastore_id: str, image_set_id: str
) -> None:
    with pytest.raises(ResourceNotFoundException):
        get_image_set(service, datastore_id, "0" * 32)
    with pytest.raises(ResourceNotFoundException):
        get_image_set(service, datastore_id, image_set_id, version="9")


def test_settling_publishes_updating_then_updated_events(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    update(service, datastore_id, image_set_id, "1", updatable=RENAME)
    clock.advance(2)
    service.settle_due()

    details = [
        (e.detail_type, e.detail["imageSetVersion"], e.detail["imageSetState"])
        for e in service.published_events()
        if e.detail_type.startswith("Image Set")
    ]
    assert details[-2:] == [("Image Set Updating", "2", "LOCKED"), ("Image Set Updated", "2", "ACTIVE")]
    assert service.published_events()[-1].detail["imageSetId"] == image_set_id
