"""Strict JSON wherever a message is read: a repeated key or NaN/Infinity is a rejection with its
own code, never a silent last-one-wins."""

from __future__ import annotations

import base64
import json

import pytest

from updater.domain.errors import FailureCode, RequestRejected
from updater.domain.inbound import RejectedMessage, classify
from updater.domain.lane_message import LaneMessage, LaneMessageInvalid
from updater.domain.request import parse_update_request

IDS = '"datastoreId": "' + "a" * 32 + '", "imageSetId": "' + "b" * 32 + '"'
DOCUMENT = '{"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": "A", "PatientName": "B"}}}'


@pytest.mark.parametrize(
    "body",
    [
        "{" + IDS + ', "requestId": "r1", "requestId": "r2", "revertToVersionId": "1"}',
        "{" + IDS + ', "DICOMUpdates": {"updatableAttributes": ' + DOCUMENT + "}}",
        '{"detail-type": "ImageSetMetadataUpdate.Requested", "detail-type": "x", "detail": {}}',
    ],
    ids=["request-field", "document", "envelope"],
)
def test_a_repeated_key_anywhere_in_a_body_is_rejected(body: str) -> None:
    message = classify(body)
    assert isinstance(message, RejectedMessage)
    assert message.failure.code is FailureCode.DUPLICATE_KEY
    assert message.request_id is None  # which requestId was meant cannot be told


@pytest.mark.parametrize(
    "text", [DOCUMENT, base64.b64encode(DOCUMENT.encode()).decode()], ids=["json", "base64"]
)
def test_a_repeated_key_in_a_document_given_as_text_is_rejected(text: str) -> None:
    body = {"datastoreId": "a" * 32, "imageSetId": "b" * 32, "DICOMUpdates": {"updatableAttributes": text}}
    with pytest.raises(RequestRejected) as caught:
        parse_update_request(json.dumps(body))
    assert caught.value.code is FailureCode.DUPLICATE_KEY


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_invalid_json(constant: str) -> None:
    message = classify("{" + IDS + ', "revertToVersionId": "1", "force": ' + constant + "}")
    assert isinstance(message, RejectedMessage) and message.failure.code is FailureCode.INVALID_JSON


def test_a_lane_message_with_a_repeated_key_or_an_invalid_id_is_not_a_lane_message() -> None:
    request = {"datastoreId": "a" * 32, "imageSetId": "b" * 32, "requestId": "r1", "revertToVersionId": "1"}
    good = {"v": 1, "request": request, "trigger": "sqs", "receivedAtMs": 1}
    assert LaneMessage.parse(json.dumps(good)).request.request_id == "r1"
    for body in (
        json.dumps(good)[:-1] + ', "trigger": "eventbridge"}',
        json.dumps(good | {"request": request | {"requestId": "SMITH JOHN"}}),
        json.dumps(good | {"request": request | {"imageSetId": "B" * 32}}),
    ):
        with pytest.raises(LaneMessageInvalid):
            LaneMessage.parse(body)
