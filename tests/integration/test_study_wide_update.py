"""A study-wide change (includeStudyImageSets) is one update call reaching every image set of the study."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from local.healthimaging.profile import BehaviourProfile, SettleTime
from local.scenario import import_image_set, read_metadata, submit_and_wait
from local.stack import LocalStack, LocalStackOptions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"study{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=5,
        function_timeout_s=30,
        emulator_profile=BehaviourProfile(settle=SettleTime(median_seconds=0.05, p99_seconds=0.2)),
    )
    with LocalStack(options) as running:
        yield running


def test_include_study_image_sets_updates_the_whole_study_with_one_call(stack: LocalStack) -> None:
    first = import_image_set(stack, "CT_small.dcm")
    second = import_image_set(stack, "CT_small.dcm")  # same study, a second image set
    study_uid = read_metadata(stack, first)["Study"]["DICOM"]["StudyInstanceUID"]
    assert read_metadata(stack, second)["Study"]["DICOM"]["StudyInstanceUID"] == study_uid
    calls_before = stack.emulator.service.call_log.call_counts().get("UpdateImageSetMetadata", 0)
    outcome = submit_and_wait(
        stack,
        {
            "datastoreId": stack.datastore_id,
            "imageSetId": first,
            "requestId": "study-wide-name",
            "includeStudyImageSets": True,
            "DICOMUpdates": {
                "updatableAttributes": {
                    "SchemaVersion": 1.1,
                    "Patient": {"DICOM": {"PatientName": "STUDY^WIDE"}},
                }
            },
        },
    )
    assert outcome["status"] == "SUCCEEDED", outcome
    assert stack.emulator.service.call_log.call_counts()["UpdateImageSetMetadata"] == calls_before + 1
    for image_set in (first, second):
        assert read_metadata(stack, image_set)["Patient"]["DICOM"]["PatientName"] == "STUDY^WIDE"
