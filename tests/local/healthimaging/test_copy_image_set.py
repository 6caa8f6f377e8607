"""CopyImageSet: the source is read-only while it is copied; the copy is non-primary unless promoted."""

from __future__ import annotations

import pytest

from local.healthimaging import HealthImagingService, ManualClock
from local.healthimaging.errors import ConflictException
from tests.local.healthimaging.core_calls import get_image_set, update
from tests.local.healthimaging.documents import update_blob


def copy(service: HealthImagingService, datastore_id: str, source: str, **flags: bool) -> dict[str, object]:
    return service.call(
        "CopyImageSet",
        {
            "datastoreId": datastore_id,
            "sourceImageSetId": source,
            "copyImageSetInformation": {"sourceImageSet": {"latestVersionId": "1"}},
            **flags,
        },
    )


def test_the_source_is_locked_read_only_while_it_is_copied(
    service: HealthImagingService, clock: ManualClock, datastore_id: str, image_set_id: str
) -> None:
    response = copy(service, datastore_id, image_set_id)

    source = response["sourceImageSetProperties"]
    assert isinstance(source, dict)
    assert (source["imageSetState"], source["imageSetWorkflowStatus"]) == (
        "LOCKED",
        "COPYING_WITH_READ_ONLY_ACCESS",
    )
    shown = get_image_set(service, datastore_id, image_set_id)
    assert (shown["imageSetState"], shown["imageSetWorkflowStatus"]) == (
        "LOCKED",
        "COPYING_WITH_READ_ONLY_ACCESS",
    )
    assert service.call("GetImageSetMetadata", {"datastoreId": datastore_id, "imageSetId": image_set_id})
    with pytest.raises(ConflictException, match="LOCKED"):
        update(
            service, datastore_id, image_set_id, "1", updatable=update_blob(Study={"DICOM": {"StudyID": "X"}})
        )

    clock.advance(2)
    settled = get_image_set(service, datastore_id, image_set_id)
    assert (settled["versionId"], settled["imageSetState"], settled["imageSetWorkflowStatus"]) == (
        "1", "ACTIVE", "CREATED",
    )  # fmt: skip
    started = [e for e in service.published_events() if e.detail_type.startswith("Image Set Copying")]
    assert [e.detail_type for e in started] == [
        "Image Set Copying",
        "Image Set Copying With Read Only Access",
    ]
    assert started[0].detail["sourceImageSetArn"].endswith(f"/imageset/{image_set_id}")


@pytest.mark.parametrize(("promote", "primary"), [(False, False), (True, True)])
def test_a_copy_is_primary_only_when_promoted(
    service: HealthImagingService,
    clock: ManualClock,
    datastore_id: str,
    image_set_id: str,
    promote: bool,
    primary: bool,
) -> None:
    destination = copy(service, datastore_id, image_set_id, promoteToPrimary=promote)[
        "destinationImageSetProperties"
    ]
    clock.advance(2)

    assert isinstance(destination, dict)
    assert get_image_set(service, datastore_id, str(destination["imageSetId"]))["isPrimary"] is primary
