"""Fuzzing what arrives on the ingest queues: `classify` is total (it never raises), a request it
accepts always validates without raising, and every rejection carries a specific reason whose
message never repeats a value from the input.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from updater.domain.errors import FailureCode
from updater.domain.inbound import (
    ImportCompletedMessage,
    RejectedMessage,
    RequestMessage,
    SettleNoticeMessage,
    classify,
)
from updater.domain.request import MAX_NESTING
from updater.domain.validation import validate_request

PROFILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DATASTORE_ID = "a" * 32
IMAGE_SET_ID = "b" * 32
SENTINEL = "PHIQZXWVUTS"
# Characters that break naive parsers and log pipelines: NUL, lone surrogates, BOM, RTL override,
# line separators, combining marks, astral emoji.
AWKWARD = ["\x00", "\ud800", "\udfff", "\ufeff", "\u202e", "\u2028", "\u0301", "\U0001f9ec", "\\", '"', "\n"]
awkward_text = st.lists(st.sampled_from(AWKWARD) | st.characters(), max_size=40).map("".join)


def outcome_of(body: str) -> tuple[str, FailureCode | None]:
    message = classify(body)
    if isinstance(message, RequestMessage):
        failures = validate_request(message.request)
        return "request", failures[0].code if failures else None
    if isinstance(message, RejectedMessage):
        assert isinstance(message.failure.code, FailureCode)
        return "rejected", message.failure.code
    assert isinstance(message, SettleNoticeMessage | ImportCompletedMessage)
    return "other", None


def request_body(**fields: Any) -> str:
    body = {"datastoreId": DATASTORE_ID, "imageSetId": IMAGE_SET_ID, "requestId": "fuzz-1"} | fields
    return json.dumps(body)


def patient_update(dicom: Any) -> dict[str, Any]:
    return {"updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": dicom}}}


@PROFILE
@given(st.binary(max_size=400))
def test_arbitrary_bytes_as_a_body_never_raise(raw: bytes) -> None:
    outcome_of(raw.decode("utf-8", "surrogateescape"))


@PROFILE
@given(awkward_text)
def test_awkward_unicode_anywhere_in_a_request_never_raises(text: str) -> None:
    for body in (
        text,
        request_body(requestId=text or "x"),
        request_body(DICOMUpdates=patient_update({"PatientName": text})),
        request_body(DICOMUpdates=patient_update({text or "k": "v"})),
        json.dumps({"detail-type": "ImageSetMetadataUpdate.Requested", "source": text, "detail": text}),
    ):
        outcome_of(body)


@PROFILE
@given(st.integers(min_value=MAX_NESTING + 1, max_value=20_000), st.sampled_from(["[", '{"a":']))
def test_deeply_nested_json_is_rejected_not_raised(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    nested = opener * depth + "1" + closer * depth
    kind, code = outcome_of(request_body()[:-1] + f', "DICOMUpdates": {nested}}}')
    assert kind == "rejected"
    assert code in {FailureCode.NESTING_TOO_DEEP, FailureCode.INVALID_JSON}


@PROFILE
@given(st.integers(min_value=256 * 1024 + 1, max_value=400 * 1024))
def test_huge_bodies_are_rejected_as_too_large(size: int) -> None:
    filler = "x" * size
    assert outcome_of(request_body(DICOMUpdates=patient_update({"PatientName": filler}))) == (
        "rejected",
        FailureCode.PAYLOAD_TOO_LARGE,
    )


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
wrong_values = (
    scalars | st.lists(scalars, max_size=3) | st.dictionaries(st.text(max_size=4), scalars, max_size=3)
)


@PROFILE
@given(
    st.sampled_from(["datastoreId", "imageSetId", "requestId", "force", "dryRun", "DICOMUpdates"]),
    wrong_values,
)
def test_wrong_types_get_a_specific_reason(field: str, value: Any) -> None:
    kind, code = outcome_of(
        request_body(**{field: value, "DICOMUpdates": patient_update({"PatientName": "A^B"})})
    )
    if kind == "request":
        return  # the value happened to fit (e.g. a bool for force)
    assert code not in {None, FailureCode.INTERNAL_ERROR}


invalid_uids = st.one_of(
    st.text(alphabet=string.digits + ".", min_size=1, max_size=70).filter(
        lambda uid: uid.startswith(".") or uid.endswith(".") or ".." in uid or len(uid) > 64
    ),
    st.text(alphabet=string.ascii_letters + "-_ ", min_size=1, max_size=10),
)


@PROFILE
@given(invalid_uids)
def test_invalid_series_uids_are_refused_by_name(uid: str) -> None:
    document = {"SchemaVersion": 1.1, "Study": {"Series": {uid: {"DICOM": {"SeriesDescription": "X"}}}}}
    kind, code = outcome_of(request_body(DICOMUpdates={"updatableAttributes": document}))
    assert (kind, code) == ("request", FailureCode.INVALID_UID_KEY)


@PROFILE
@given(
    st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=3).filter(lambda vr: vr not in VALID_VRS)
)
def test_unknown_vrs_for_private_tags_are_refused(vr: str) -> None:
    document = {
        "SchemaVersion": 1.1,
        "Patient": {"DICOM": {"00111001": "X"}, "DICOMVRs": {"00111001": vr}},
    }
    kind, code = outcome_of(request_body(DICOMUpdates={"updatableAttributes": document}))
    assert (kind, code) == ("request", FailureCode.INVALID_VR)


VALID_VRS = frozenset([
    "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV",
    "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV",
])  # fmt: skip


@pytest.mark.parametrize(
    ("dicom", "code"),
    [
        ({"PatientBirthDate": SENTINEL}, FailureCode.INVALID_VALUE_FOR_VR),
        ({"PatientNam": SENTINEL}, FailureCode.UNKNOWN_KEYWORD),
        ({"StudyDescription": SENTINEL}, FailureCode.WRONG_LEVEL),
        ({"00071001": SENTINEL}, FailureCode.MALFORMED_PRIVATE_TAG),
        # A value pasted where a keyword belongs: keys that are not DICOM names are not shown.
        ({f"{SENTINEL}^JOHN 1970": "x"}, FailureCode.UNKNOWN_KEYWORD),
        ({SENTINEL: "x"}, FailureCode.UNKNOWN_KEYWORD),
    ],
)
def test_rejections_name_the_rule_never_the_value(dicom: dict[str, Any], code: FailureCode) -> None:
    message = classify(request_body(DICOMUpdates=patient_update(dicom)))
    assert isinstance(message, RequestMessage)
    failures = validate_request(message.request)
    assert failures[0].code == code
    assert all(SENTINEL not in f.message and SENTINEL not in f.field for f in failures)
