"""The seed's seven examples against an emulator that follows the newest guide's primary-image-set
rules ("strict"), through the real stack: what a primary image set refuses ends with its own code
(learned from the service's answer: the stage assumes nothing), the rest succeeds, and a
non-primary image set still takes a Patient-level change."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from local.healthimaging.profile import BehaviourProfile, SettleTime
from local.scenario import import_image_set, read_metadata, sample_request, submit_and_wait
from local.stack import LocalStack, LocalStackOptions

pytestmark = pytest.mark.integration
RESTRICTED = "PRIMARY_IMAGE_SET_RESTRICTED"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"prim{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=10,
        function_timeout_s=30,
        emulator_profile=BehaviourProfile(
            settle=SettleTime(median_seconds=0.1, p99_seconds=0.3), primary_image_set_rules="strict"
        ),
    )
    with LocalStack(options) as running:
        yield running


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("01-update-patient-name.json", RESTRICTED),
        ("03-remove-instance.json", "SUCCEEDED"),
        ("04-revert-to-version-1.json", "SUCCEEDED"),
        ("05-add-private-tag.json", "SUCCEEDED"),
        ("06-update-private-tag.json", "SUCCEEDED"),
        ("07-update-sop-instance-uid.json", RESTRICTED),
    ],
)
def test_each_seed_example_on_a_primary_image_set_under_strict_rules(
    stack: LocalStack, sample: str, expected: str
) -> None:
    image_set = import_image_set(stack, "CT_small.dcm")
    outcome = submit_and_wait(stack, sample_request(stack, sample, image_set, f"prim-{sample[:2]}"))
    assert (outcome.get("errorCode") or outcome["status"]) == expected, outcome
    versions = stack.emulator.service.version_history(stack.datastore_id, image_set)
    if expected == RESTRICTED:
        assert "promote" in outcome["errorMessage"]  # what to do instead
        assert len(versions) == 1  # nothing was applied


def test_a_non_primary_image_set_takes_the_patient_change(stack: LocalStack) -> None:
    primary = import_image_set(stack, "CT_small.dcm")
    copy = stack.emulator.service.seed_image_set(
        stack.datastore_id, read_metadata(stack, primary), is_primary=False, announce=False
    )
    outcome = submit_and_wait(stack, sample_request(stack, "01-update-patient-name.json", copy, "prim-copy"))
    assert outcome["status"] == "SUCCEEDED", outcome
    assert read_metadata(stack, copy)["Patient"]["DICOM"]["PatientName"] == "MX^MX"
