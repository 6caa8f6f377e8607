"""HealthImagingGateway against the emulator: error mapping and the SDK retries it reports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydicom.data import get_testdata_file

from local.healthimaging import EmulatorServer
from local.healthimaging.client import medical_imaging_client
from local.healthimaging.profile import BehaviourProfile, FaultInjection
from updater.adapters.healthimaging import HealthImagingGateway
from updater.domain.errors import ConflictError, FailureCode, PermanentServiceError


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(profile=BehaviourProfile.fast()) as server:
        yield server


@pytest.fixture(scope="module")
def image_set(emulator: EmulatorServer) -> tuple[str, str]:
    datastore = emulator.service.create_datastore("gateway")
    (image_set_id,) = emulator.service.import_dicom_files(datastore, [str(get_testdata_file("CT_small.dcm"))])
    return datastore, image_set_id


def test_throttles_absorbed_by_the_sdk_are_reported() -> None:
    """Seeded throttling (not a rate, whose outcome would hang on the SDK's random back-off)."""
    profile = BehaviourProfile.fast().model_copy(
        update={"faults": FaultInjection(throttle_probability=0.4, operations=["GetImageSet"]), "seed": 1}
    )
    with EmulatorServer(profile=profile) as emulator:
        datastore = emulator.service.create_datastore("throttled")
        (image_set_id,) = emulator.service.import_dicom_files(
            datastore, [str(get_testdata_file("CT_small.dcm"))]
        )
        retries: list[tuple[str, int]] = []
        gateway = HealthImagingGateway(
            medical_imaging_client(emulator.endpoint_url), on_retries=lambda o, n: retries.append((o, n))
        )
        for _ in range(8):
            assert gateway.get_image_set(datastore, image_set_id).version_id == "1"
        log = emulator.service.call_log
    assert retries and {operation for operation, _ in retries} == {"GetImageSet"}
    throttled = log.call_counts(error_code="ThrottlingException").get("GetImageSet", 0)
    assert sum(n for _, n in retries) == throttled


def test_service_errors_map_to_domain_errors(emulator: EmulatorServer, image_set: tuple[str, str]) -> None:
    datastore, image_set_id = image_set
    gateway = HealthImagingGateway(medical_imaging_client(emulator.endpoint_url))
    with pytest.raises(PermanentServiceError) as missing:
        gateway.get_image_set(datastore, "0" * 32)
    assert missing.value.failure_code is FailureCode.IMAGE_SET_NOT_FOUND
    with pytest.raises(ConflictError):  # latestVersion "7" is stale: the image set is at version 1
        gateway.update(
            datastore,
            image_set_id,
            latest_version_id="7",
            force=False,
            include_study_image_sets=False,
            updates={
                "DICOMUpdates": {
                    "updatableAttributes": b'{"SchemaVersion":1.1,"Patient":{"DICOM":{"PatientName":"A^B"}}}'
                }
            },
        )


def test_a_versions_document_is_read_once_and_never_shared_for_writing(
    emulator: EmulatorServer, image_set: tuple[str, str]
) -> None:
    """A version never changes: the plan's read serves the audit's and later rounds'. The latest
    (no version named) is always read again."""
    datastore, image_set_id = image_set
    gateway = HealthImagingGateway(medical_imaging_client(emulator.endpoint_url))

    def reads() -> int:
        return emulator.service.call_log.call_counts().get("GetImageSetMetadata", 0)

    before = reads()
    first = gateway.get_metadata(datastore, image_set_id, "1")
    first["Patient"]["DICOM"]["PatientName"] = "CHANGED^BY^A^CALLER"
    again = gateway.get_metadata(datastore, image_set_id, "1")
    assert reads() == before + 1
    assert again["Patient"]["DICOM"]["PatientName"] != "CHANGED^BY^A^CALLER"
    gateway.get_metadata(datastore, image_set_id)
    gateway.get_metadata(datastore, image_set_id)
    assert reads() == before + 3
