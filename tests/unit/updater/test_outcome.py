from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from updater.domain.errors import FailureCode
from updater.domain.outcome import (
    DETAIL_TYPE_FAILED,
    DETAIL_TYPE_SUCCEEDED,
    OutcomeStatus,
    UpdateOutcome,
    scrub_message,
)


def outcome(**fields: object) -> UpdateOutcome:
    base: dict[str, object] = {
        "request_id": "req-1",
        "datastore_id": "d" * 32,
        "image_set_id": "e" * 32,
        "status": OutcomeStatus.SUCCEEDED,
        "trigger": "sqs",
    }
    return UpdateOutcome(**{**base, **fields})  # type: ignore[arg-type]


def test_detail_type_follows_status() -> None:
    assert outcome().detail_type() == DETAIL_TYPE_SUCCEEDED
    assert (
        outcome(status=OutcomeStatus.FAILED, error_code=FailureCode.UPDATE_FAILED).detail_type()
        == DETAIL_TYPE_FAILED
    )


def test_wire_form_is_camel_case_and_round_trips() -> None:
    original = outcome(
        from_version_id="1",
        to_version_id="2",
        changed={"Patient": ["PatientName"]},
        duration_ms=1200,
        settle_ms=800,
        coalesced_request_ids=["req-2"],
    )
    wire = original.model_dump(mode="json", by_alias=True)
    assert {
        "requestId",
        "fromVersionId",
        "toVersionId",
        "durationMs",
        "settleMs",
        "coalescedRequestIds",
    } <= wire.keys()
    assert UpdateOutcome.model_validate(wire) == original


def test_unknown_trigger_is_refused() -> None:
    with pytest.raises(ValidationError):
        outcome(trigger="cron")


@pytest.mark.parametrize(
    ("message", "scrubbed"),
    [
        ("INVALID_REQUEST:  Series of SourceImageSet and DestinationImageSet don't match.",
         "INVALID_REQUEST [details withheld]"),
        ("Invalid value for PatientName: SMITH^JOHN", "Invalid value for PatientName [details withheld]"),
        ("PatientName value 'SMITH' is invalid", "PatientName value [details withheld]"),
        ('attribute PatientID="12345"', "attribute PatientID [details withheld]"),
        ("Internal server error", "Internal server error"),
        ("", "(message withheld)"),
        (None, "(message withheld)"),
        (": leading value", "(message withheld)"),
        ("x" * 1000, "x" * 256),
    ],
)  # fmt: skip
def test_scrub_message_keeps_only_the_text_before_anything_value_like(
    message: str | None, scrubbed: str
) -> None:
    assert scrub_message(message) == scrubbed


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_scrub_message_is_idempotent_and_leaves_no_quoting_or_assignment(message: str) -> None:
    scrubbed = scrub_message(message)
    assert scrub_message(scrubbed) == scrubbed
    assert not set(scrubbed) & set(":=\"'`{<")
    assert len(scrubbed) <= 256 + len(" [details withheld]")
