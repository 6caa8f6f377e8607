from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from updater.imports.events import (
    IgnoredReason,
    ImportEventIgnored,
    ImportEventInvalid,
    ImportJobCompleted,
    parse_import_job_completed,
)

EVENTS = Path(__file__).resolve().parents[3] / "events"
DATASTORE_ID = "bbc4f3cccbae4095a34170fddc19b13d"


@pytest.fixture
def envelope() -> dict[str, Any]:
    return json.loads((EVENTS / "eventbridge" / "import-job-completed.json").read_text())


def test_the_documented_sample_parses_into_the_job(envelope: dict[str, Any]) -> None:
    job = parse_import_job_completed(envelope, {DATASTORE_ID})

    assert isinstance(job, ImportJobCompleted)
    assert job.datastore_id == DATASTORE_ID
    assert job.job_id == "a6a1d220f152e7aab6d8925d995d8b76"
    assert job.job_name == "test_only_1"
    assert job.input_s3_uri == "s3://healthimaging-test-bucket/input/"
    assert job.output_s3_uri == "s3://healthimaging-test-bucket/output/"
    assert job.event_id == "7cf0fb1c-8720-4d48-baa3-6eb97b35a10e"


def test_the_sqs_sample_carries_the_same_envelope_as_its_body(envelope: dict[str, Any]) -> None:
    records = json.loads((EVENTS / "sqs" / "import-job-completed.json").read_text())["Records"]

    assert len(records) == 1
    assert records[0]["eventSource"] == "aws:sqs"
    assert json.loads(records[0]["body"]) == envelope


def test_an_empty_allow_list_accepts_any_datastore(envelope: dict[str, Any]) -> None:
    assert isinstance(parse_import_job_completed(envelope, frozenset()), ImportJobCompleted)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"source": "aws.s3"}, IgnoredReason.NOT_HEALTHIMAGING),
        ({"detail-type": "Import Job In Progress"}, IgnoredReason.OTHER_DETAIL_TYPE),
        ({"detail-type": "Image Set Updated"}, IgnoredReason.OTHER_DETAIL_TYPE),
    ],
)
def test_events_of_other_kinds_are_ignored(
    envelope: dict[str, Any], change: dict[str, str], reason: IgnoredReason
) -> None:
    result = parse_import_job_completed({**envelope, **change}, {DATASTORE_ID})

    assert result == ImportEventIgnored(reason)


def test_a_datastore_outside_the_allow_list_is_ignored_with_its_ids(envelope: dict[str, Any]) -> None:
    result = parse_import_job_completed(envelope, {"0" * 32})

    assert result == ImportEventIgnored(
        IgnoredReason.DATASTORE_NOT_ALLOWED, DATASTORE_ID, "a6a1d220f152e7aab6d8925d995d8b76"
    )


def test_a_completed_event_whose_status_is_not_completed_is_ignored(envelope: dict[str, Any]) -> None:
    envelope["detail"]["jobStatus"] = "FAILED"

    result = parse_import_job_completed(envelope, {DATASTORE_ID})

    assert isinstance(result, ImportEventIgnored)
    assert result.reason is IgnoredReason.JOB_NOT_COMPLETED


def test_a_malformed_detail_names_the_fields_but_not_their_values(envelope: dict[str, Any]) -> None:
    broken = copy.deepcopy(envelope)
    broken["detail"]["datastoreId"] = "DOE^JANE-STUDY"
    del broken["detail"]["outputS3Uri"]

    with pytest.raises(ImportEventInvalid) as caught:
        parse_import_job_completed(broken, {DATASTORE_ID})

    message = str(caught.value)
    assert "datastoreId" in message
    assert "outputS3Uri" in message
    assert "DOE^JANE" not in message


def test_a_missing_detail_is_invalid(envelope: dict[str, Any]) -> None:
    del envelope["detail"]

    with pytest.raises(ImportEventInvalid, match="detail"):
        parse_import_job_completed(envelope, {DATASTORE_ID})
