"""HL7 v2 ADT messages on the ingest queues, translated into the updater's parent requests.

Above the domain (like `updater.imports`): it depends on an HL7 parser, python-hl7, and hands the
domain its own types (`domain.content_types.MessageTranslator`). Each ADT message is one parent
request (requestId from MSH-10): A08 and A31 a patient selector, A40 a merge (`adt_mapping`).

Why python-hl7 (`hl7`, pinned in requirements/lambda.txt): pure Python, no dependencies, 25 KB,
a tolerant ER7 parser with an accessor for `PID.F3.R1.C4` paths; the mapping needs six fields of
three segments and no message structure validation. hl7apy (the other maintained parser) brings a
megabyte of per-version structure definitions and rejects messages that break the structure of
their version, which interface engines' site-specific messages often do.
"""

from __future__ import annotations

from updater.domain.content_types import NotForUpdater
from updater.domain.errors import FailureCode, RequestRejected, ValidationFailure
from updater.domain.inbound import RejectedMessage
from updater.domain.outcome import body_request_id
from updater.domain.selectors import ParentMessage, parse_parent_request
from updater.hl7.adt_mapping import MERGE_EVENTS, UPDATE_EVENTS, event_code, parent_request, request_id
from updater.hl7.er7 import Hl7FieldInvalid, Hl7Malformed, parse_er7

TRIGGER = "hl7"

__all__ = ["TRIGGER", "Hl7Translation"]


class Hl7Translation:
    def __init__(self, datastore_id: str) -> None:
        """`datastore_id`: where ADT messages apply (they name none); "" refuses them all."""
        self._datastore_id = datastore_id

    def translate(self, body: str) -> ParentMessage | RejectedMessage | NotForUpdater:
        try:
            message = parse_er7(body)
        except Hl7Malformed:
            return _rejected(
                body, FailureCode.HL7_MALFORMED, "message", "the body is not a readable ER7 message"
            )
        event = event_code(message)
        if message.message_type.upper() != "ADT" or event not in UPDATE_EVENTS | MERGE_EVENTS:
            return NotForUpdater(f"HL7_{event}" if message.message_type.upper() == "ADT" else "HL7_NOT_ADT")
        key = request_id(message) if message.control_id else body_request_id(body)
        if not self._datastore_id:
            rule = "no data store is configured for HL7 messages"
            return _rejected(body, FailureCode.DATASTORE_NOT_ALLOWED, "datastoreId", rule, key)
        try:
            parent = parse_parent_request(parent_request(message, self._datastore_id))
        except Hl7FieldInvalid as invalid:
            return _rejected(body, FailureCode.HL7_FIELD_INVALID, invalid.field, str(invalid), key)
        except RequestRejected as rejected:  # a mapped value the request contract refuses
            first = rejected.failures[0]
            return RejectedMessage(ValidationFailure(first.code, first.field, first.message), TRIGGER, key)
        return ParentMessage(parent, TRIGGER)


def _rejected(
    body: str, code: FailureCode, field: str, message: str, key: str | None = None
) -> RejectedMessage:
    return RejectedMessage(ValidationFailure(code, field, message), TRIGGER, key or body_request_id(body))
