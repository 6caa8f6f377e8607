"""Living within the update quota: pacing across concurrent workers, and coalescing per image set.

The emulator enforces a rate on UpdateImageSetMetadata (ThrottlingException above it) and the
updater's pacer is configured with the same rate. The quota is scaled from the real 0.25/s to 1/s so
the test takes seconds, not minutes; nothing in the pacer or the emulator depends on the scale.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator

import pytest
from pydicom.data import get_testdata_file

from local.healthimaging.profile import BehaviourProfile, RateLimit, SettleTime
from local.invoke import drain
from local.stack import LocalStack, LocalStackOptions

pytestmark = pytest.mark.integration
RATE = 1.0
# Attributes each request sets (distinct per request on one image set, so they can share a call).
ATTRIBUTES = [
    ("Study", "StudyDescription"), ("Study", "AccessionNumber"), ("Patient", "PatientComments"),
    ("Patient", "EthnicGroup"), ("Study", "AdditionalPatientHistory"), ("Study", "Occupation"),
    ("Study", "MedicalAlerts"), ("Study", "Allergies"),
]  # fmt: skip


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"quota{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=5,
        function_timeout_s=30,
        workers=3,
        emulator_profile=BehaviourProfile(
            settle=SettleTime(median_seconds=0.1, p99_seconds=0.4),
            rate_limits={"UpdateImageSetMetadata": RateLimit(rate_per_second=RATE, burst=1)},
        ),
        # A loaded CI host delays some calls in transit by more than the default 0.2 s margin.
        extra_environment={
            "UPDATE_RATE_PER_SECOND": str(RATE),
            "UPDATE_BURST": "1",
            "UPDATE_PACING_MARGIN_MS": "500",
        },
    )
    with LocalStack(options) as running:
        yield running


def test_concurrent_requests_stay_under_the_quota_and_share_calls(stack: LocalStack) -> None:
    assert stack.topology is not None
    image_sets = [
        stack.emulator.service.import_dicom_files(stack.datastore_id, [str(get_testdata_file(name))])[0]
        for name in ("CT_small.dcm", "MR_small.dcm", "CT_small.dcm")
    ]
    bodies = []
    for image_set in image_sets:
        for index, (level, keyword) in enumerate(ATTRIBUTES):
            document = {"SchemaVersion": 1.1, level: {"DICOM": {keyword: f"VALUE{index}"}}}
            bodies.append(
                {
                    "datastoreId": stack.datastore_id,
                    "imageSetId": image_set,
                    "requestId": f"quota-{image_set[:6]}-{index}",
                    "DICOMUpdates": {"updatableAttributes": document},
                }
            )
    queue_url = stack.topology.queue("ingest").url
    for start in range(0, len(bodies), 10):
        stack.aws.sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "MessageBody": json.dumps(b)} for i, b in enumerate(bodies[start : start + 10])
            ],
        )
    stack.run_until_idle(180)

    events = drain(stack.aws, stack.topology.queue("outcome_capture").url)
    outcomes = {e["detail"]["requestId"]: e["detail"] for e in events}
    assert len(events) == len(bodies) == len(outcomes)  # one terminal outcome each, none doubled
    assert {o["status"] for o in outcomes.values()} == {"SUCCEEDED"}
    assert drain(stack.aws, stack.topology.queue("failures").url) == []  # nobody failed for waiting

    log = stack.emulator.service.call_log
    updates = log.records("UpdateImageSetMetadata")
    timeline = [(round(r.at - updates[0].at, 3), r.error_code) for r in updates]
    throttled = [r for r in updates if r.error_code == "ThrottlingException"]
    assert throttled == [], f"update calls (seconds from the first, error): {timeline}"
    accepted = sorted(r.at for r in updates if r.error_code is None)
    assert all(later - earlier >= 1 / RATE - 0.05 for earlier, later in itertools.pairwise(accepted))
    assert len(accepted) < len(bodies)  # coalescing saved calls
    shared = [o for o in outcomes.values() if o["coalescedRequestIds"]]
    assert shared, "some requests must have shared a call"
    for image_set in image_sets:
        document = stack.emulator.service.current_metadata(stack.datastore_id, image_set)
        for index, (level, keyword) in enumerate(ATTRIBUTES):
            assert document[level]["DICOM"][keyword] == f"VALUE{index}"
