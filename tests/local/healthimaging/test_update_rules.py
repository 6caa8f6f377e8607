"""The DICOM constraints of UpdateImageSetMetadata: merge, removal, force, levels, payload size."""

from __future__ import annotations

from typing import Any

import pytest

from local.healthimaging import BehaviourProfile, HealthImagingService, ManualClock
from local.healthimaging.errors import ServiceQuotaExceededException, ValidationException
from tests.local.healthimaging.conftest import ONE_SECOND_SETTLE
from tests.local.healthimaging.core_calls import get_image_set, update
from tests.local.healthimaging.documents import INSTANCE_UIDS, SERIES_UID, instance_level, update_blob

FIRST, SECOND = INSTANCE_UIDS


def settled_after(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str, **kwargs: Any
) -> dict[str, Any]:
    update(service, datastore_id, image_set_id, "1", **kwargs)
    clock.advance(2)
    assert get_image_set(service, datastore_id, image_set_id)["imageSetWorkflowStatus"] == "UPDATED"
    return service.current_metadata(datastore_id, image_set_id)


def instance_dicom(document: dict[str, Any], instance_uid: str = FIRST) -> dict[str, Any]:
    instance: dict[str, Any] = document["Study"]["Series"][SERIES_UID]["Instances"][instance_uid]
    return instance


def test_updates_merge_per_level_and_keep_other_attributes(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    blob = update_blob(
        Patient={"DICOM": {"PatientSex": "M"}},
        Study={
            "DICOM": {"StudyDescription": "ABDOMEN"},
            "Series": {
                SERIES_UID: {
                    "DICOM": {"SeriesNumber": "2"},
                    "Instances": {FIRST: {"DICOM": {"InstanceNumber": "5"}}},
                }
            },
        },
    )
    document = settled_after(service, clock, datastore_id, image_set_id, updatable=blob)

    assert document["Patient"]["DICOM"] == {"PatientName": "DOE^JANE", "PatientID": "P-1", "PatientSex": "M"}
    assert document["Study"]["DICOM"]["StudyDescription"] == "ABDOMEN"
    assert document["Study"]["DICOM"]["AccessionNumber"] == "A-1"
    assert document["Study"]["Series"][SERIES_UID]["DICOM"]["SeriesNumber"] == "2"
    assert instance_dicom(document)["DICOM"]["InstanceNumber"] == "5"
    assert instance_dicom(document, SECOND)["DICOM"]["InstanceNumber"] == "1"


def test_removal_needs_the_stored_value(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    document = settled_after(
        service,
        clock,
        datastore_id,
        image_set_id,
        removable=update_blob(Study={"DICOM": {"StudyDescription": "CHEST"}}),
    )
    assert "StudyDescription" not in document["Study"]["DICOM"]

    update(
        service,
        datastore_id,
        image_set_id,
        "2",
        removable=update_blob(Study={"DICOM": {"AccessionNumber": "other"}}),
    )
    clock.advance(2)
    failed = get_image_set(service, datastore_id, image_set_id)
    assert failed["imageSetWorkflowStatus"] == "UPDATE_FAILED"
    assert service.current_metadata(datastore_id, image_set_id)["Study"]["DICOM"]["AccessionNumber"] == "A-1"


def test_empty_node_removes_an_instance_or_a_series(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    document = settled_after(
        service,
        clock,
        datastore_id,
        image_set_id,
        removable=update_blob(Study=instance_level(SERIES_UID, FIRST, {})),
    )
    assert list(document["Study"]["Series"][SERIES_UID]["Instances"]) == [SECOND]

    update(
        service, datastore_id, image_set_id, "2", removable=update_blob(Study={"Series": {SERIES_UID: {}}})
    )
    clock.advance(2)
    assert service.current_metadata(datastore_id, image_set_id)["Study"]["Series"] == {}


def test_forced_sop_instance_uid_change_rekeys_the_instance(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    blob = update_blob(Study=instance_level(SERIES_UID, FIRST, {"DICOM": {"SOPInstanceUID": "1.2.3.999"}}))
    document = settled_after(service, clock, datastore_id, image_set_id, updatable=blob, force=True)

    instances = document["Study"]["Series"][SERIES_UID]["Instances"]
    assert set(instances) == {"1.2.3.999", SECOND}
    assert instances["1.2.3.999"]["DICOM"]["SOPInstanceUID"] == "1.2.3.999"


def test_forced_private_tag_is_added_with_its_vr(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    blob = update_blob(
        Study=instance_level(SERIES_UID, FIRST, {"DICOM": {"001910F9": "97"}, "DICOMVRs": {"001910F9": "DS"}})
    )
    document = settled_after(service, clock, datastore_id, image_set_id, updatable=blob, force=True)

    assert instance_dicom(document)["DICOM"]["001910F9"] == "97"
    assert instance_dicom(document)["DICOMVRs"]["001910F9"] == "DS"


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (update_blob(Study={"DICOM": {"StudyInstanceUID": "1.2.3"}}), "requires force"),
        (update_blob(Study={"DICOM": {"StudyID": "S2"}}), "requires force"),
        (
            update_blob(Study=instance_level(SERIES_UID, FIRST, {"DICOM": {"00091001": "X"}})),
            "requires force",
        ),
        (
            update_blob(Study={"Series": {SERIES_UID: {"DICOM": {"SoftwareVersions": ["1", "2"]}}}}),
            "requires force",
        ),
        (update_blob(Study={"DICOM": {"ProcedureCodeSequence": [{"CodeValue": "1"}]}}), "requires force"),
        (update_blob(Study={"DICOM": {"NotAKeyword": "x"}}), "requires force"),
        (update_blob(Study={"DICOM": {"PatientName": "A^B"}}), "not a Study level attribute"),
        (update_blob(Patient={"DICOM": {"Modality": "MR"}}), "not a Patient level attribute"),
        (update_blob(Study={"DICOM": {"00091001": "X"}}), "not a Study level attribute"),
        (update_blob(Study={"Series": {"9.9.9": {"DICOM": {"SeriesNumber": "3"}}}}), "does not contain"),
        (
            update_blob(Study=instance_level(SERIES_UID, "9.9.9", {"DICOM": {"InstanceNumber": "3"}})),
            "does not contain",
        ),
        (update_blob(Study=instance_level(SERIES_UID, FIRST, {"DICOM": {"Checksum": 1}})), "generated"),
        (update_blob(ImageSetID="0" * 32), "cannot be updated"),
        (b'{"Patient": {"DICOM": {"PatientName": "A^B"}}}', "SchemaVersion"),
        (b'{"SchemaVersion": 2.0}', "SchemaVersion"),
        (b"{not json", "JSON"),
    ],
)
def test_structural_problems_are_rejected_synchronously(
    service: HealthImagingService, datastore_id: str, image_set_id: str, blob: bytes, reason: str
) -> None:
    with pytest.raises(ValidationException, match=reason):
        update(service, datastore_id, image_set_id, "1", updatable=blob)
    assert [v.version_id for v in service.version_history(datastore_id, image_set_id)] == ["1"]


def test_force_lifts_the_protected_attribute_rules(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    document = settled_after(
        service,
        clock,
        datastore_id,
        image_set_id,
        updatable=update_blob(Study={"DICOM": {"StudyID": "S2"}}),
        force=True,
    )
    assert document["Study"]["DICOM"]["StudyID"] == "S2"


def test_payload_over_the_quota_is_a_service_quota_error(clock: ManualClock) -> None:
    service = HealthImagingService(
        BehaviourProfile(settle=ONE_SECOND_SETTLE, update_payload_limit_bytes=100), clock
    )
    datastore_id = service.create_datastore("quota")
    image_set_id = service.seed_image_set(datastore_id, {"Patient": {"DICOM": {"PatientName": "A"}}})
    big = update_blob(Patient={"DICOM": {"PatientComments": "x" * 200}})

    with pytest.raises(ServiceQuotaExceededException):
        update(service, datastore_id, image_set_id, "1", updatable=big)


def test_blob_over_the_model_maximum_is_a_validation_error(
    service: HealthImagingService, datastore_id: str, image_set_id: str
) -> None:
    huge = update_blob(Patient={"DICOM": {"PatientComments": "x" * 30001}})

    with pytest.raises(ValidationException, match="30000"):
        update(service, datastore_id, image_set_id, "1", updatable=huge)
