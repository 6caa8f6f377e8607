"""UpdateImageSetMetadata on primary and non-primary image sets under both `primary_image_set_rules`.

"legacy" (default): the CLI examples, every update succeeds on any image set. "strict": the newest
"Updating image set metadata": no Patient- or Series-level changes and no forced UID changes on
primary image sets. `includeStudyImageSets` reaches only the study's primary image sets in both.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.healthimaging import BehaviourProfile, HealthImagingService, ManualClock
from local.healthimaging.errors import ValidationException
from local.healthimaging.primary_rules import PRIMARY_REFUSAL
from tests.local.healthimaging.conftest import ONE_SECOND_SETTLE
from tests.local.healthimaging.core_calls import get_image_set, update
from tests.local.healthimaging.documents import INSTANCE_UIDS, SERIES_UID, instance_level, update_blob
from tests.local.healthimaging.documents import metadata_document as document

FIRST = INSTANCE_UIDS[0]
PATIENT_NAME = {"updatable": update_blob(Patient={"DICOM": {"PatientName": "MX^MX"}})}
SERIES_NUMBER = {"updatable": update_blob(Study={"Series": {SERIES_UID: {"DICOM": {"SeriesNumber": "7"}}}})}
FORCED_SOP_UID = {
    "updatable": update_blob(
        Study=instance_level(SERIES_UID, FIRST, {"DICOM": {"SOPInstanceUID": "1.2.3.9"}})
    ),
    "force": True,
}
FORCED_STUDY_UID = {"updatable": update_blob(Study={"DICOM": {"StudyInstanceUID": "1.2.3.8"}}), "force": True}
SERIES_REMOVAL = {"removable": update_blob(Study={"Series": {SERIES_UID: {}}})}
PATIENT_REMOVAL = {"removable": update_blob(Patient={"DICOM": {"PatientSex": "F"}})}
STUDY_DESCRIPTION = {"updatable": update_blob(Study={"DICOM": {"StudyDescription": "HEAD"}})}
INSTANCE_REMOVAL = {"removable": update_blob(Study=instance_level(SERIES_UID, FIRST, {}))}
FORCED_PRIVATE_TAG = {
    "updatable": update_blob(Study=instance_level(SERIES_UID, FIRST, {"DICOM": {"00091001": "X"}})),
    "force": True,
}
REFUSED_ON_PRIMARY_WHEN_STRICT = [
    PATIENT_NAME, SERIES_NUMBER, FORCED_SOP_UID, FORCED_STUDY_UID, SERIES_REMOVAL, PATIENT_REMOVAL,
]  # fmt: skip
ALLOWED_EVERYWHERE = [STUDY_DESCRIPTION, INSTANCE_REMOVAL, FORCED_PRIVATE_TAG]


def emulator(rules: str) -> tuple[HealthImagingService, ManualClock, str]:
    clock = ManualClock()
    profile = BehaviourProfile(settle=ONE_SECOND_SETTLE, primary_image_set_rules=rules)  # type: ignore[arg-type]
    service = HealthImagingService(profile, clock)
    return service, clock, service.create_datastore("primary")


def settles_updated(
    service: HealthImagingService, clock: ManualClock, ids: tuple[str, str], change: Any
) -> bool:
    update(service, *ids, "1", **change)
    clock.advance(2)
    return get_image_set(service, *ids)["imageSetWorkflowStatus"] == "UPDATED"


@pytest.mark.parametrize("change", REFUSED_ON_PRIMARY_WHEN_STRICT + ALLOWED_EVERYWHERE)
def test_legacy_takes_every_update_on_a_primary_image_set(change: dict[str, Any]) -> None:
    service, clock, datastore_id = emulator("legacy")
    image_set_id = service.seed_image_set(datastore_id, document())

    assert settles_updated(service, clock, (datastore_id, image_set_id), change)


@pytest.mark.parametrize("change", REFUSED_ON_PRIMARY_WHEN_STRICT)
def test_strict_refuses_patient_series_and_forced_uid_changes_on_a_primary_image_set(
    change: dict[str, Any],
) -> None:
    service, _, datastore_id = emulator("strict")
    image_set_id = service.seed_image_set(datastore_id, document())

    with pytest.raises(ValidationException, match=PRIMARY_REFUSAL):
        update(service, datastore_id, image_set_id, "1", **change)
    assert [v.version_id for v in service.version_history(datastore_id, image_set_id)] == ["1"]


@pytest.mark.parametrize("change", ALLOWED_EVERYWHERE)
def test_strict_takes_study_and_instance_changes_on_a_primary_image_set(change: dict[str, Any]) -> None:
    service, clock, datastore_id = emulator("strict")
    image_set_id = service.seed_image_set(datastore_id, document())

    assert settles_updated(service, clock, (datastore_id, image_set_id), change)


@pytest.mark.parametrize("change", REFUSED_ON_PRIMARY_WHEN_STRICT + ALLOWED_EVERYWHERE)
def test_strict_takes_every_update_on_a_non_primary_image_set(change: dict[str, Any]) -> None:
    service, clock, datastore_id = emulator("strict")
    image_set_id = service.seed_image_set(datastore_id, document(), is_primary=False)

    assert settles_updated(service, clock, (datastore_id, image_set_id), change)


@pytest.mark.parametrize("rules", ["legacy", "strict"])
def test_include_study_image_sets_reaches_only_the_studys_primary_image_sets(rules: str) -> None:
    service, clock, datastore_id = emulator(rules)
    requested = service.seed_image_set(datastore_id, document())
    primary = service.seed_image_set(
        datastore_id, document(series_uid="1.2.3.9", instance_uids=("1.2.3.9.1",))
    )
    non_primary = service.seed_image_set(datastore_id, document(), is_primary=False)

    update(service, datastore_id, requested, "1", include_study=True, **STUDY_DESCRIPTION)
    clock.advance(2)

    described = {
        image_set: service.current_metadata(datastore_id, image_set)["Study"]["DICOM"]["StudyDescription"]
        for image_set in (requested, primary, non_primary)
    }
    assert described == {requested: "HEAD", primary: "HEAD", non_primary: "CHEST"}
    assert get_image_set(service, datastore_id, non_primary)["versionId"] == "1"


def test_strict_refuses_a_study_wide_patient_change_from_a_non_primary_image_set() -> None:
    """The change would reach the study's primary image sets, which take no Patient-level update."""
    service, _, datastore_id = emulator("strict")
    non_primary = service.seed_image_set(datastore_id, document(), is_primary=False)
    service.seed_image_set(datastore_id, document(series_uid="1.2.3.9", instance_uids=("1.2.3.9.1",)))

    with pytest.raises(ValidationException, match=PRIMARY_REFUSAL):
        update(service, datastore_id, non_primary, "1", include_study=True, **PATIENT_NAME)
