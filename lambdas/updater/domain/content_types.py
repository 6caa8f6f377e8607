"""What an ingest message is written in: JSON (the default) or HL7 v2 ER7, by its `contentType`.

An interface engine (Mirth, Rhapsody, ...) puts ADT messages on the ingest queue with the SQS
message attribute `contentType` = `application/hl7-v2`; the intake handler reads the attribute and
passes its value here, so the domain never sees SQS shapes. The translation itself lives above the
domain (`updater.hl7`, which depends on an HL7 parsing library) behind `MessageTranslator`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.inbound import RejectedMessage
from updater.domain.selectors import ParentMessage

HL7_V2 = "application/hl7-v2"
JSON_TYPES = frozenset({"application/json", "text/json"})
MAX_CONTENT_TYPE_CHARS = 64


@dataclass(frozen=True)
class NotForUpdater:
    """A well-formed message the updater has nothing to do with (an ADT event it does not map)."""

    reason: str  # a code, never the sender's text


class MessageTranslator(Protocol):
    def translate(self, body: str) -> ParentMessage | RejectedMessage | NotForUpdater: ...


def is_json(content_type: str | None) -> bool:
    return content_type is None or content_type.split(";")[0].strip().lower() in JSON_TYPES | {""}


def is_hl7(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";")[0].strip().lower() == HL7_V2


def unsupported(content_type: str) -> RejectedMessage:
    """Neither JSON nor HL7 v2: refused, without repeating the sender's attribute."""
    rule = "contentType is neither JSON nor application/hl7-v2"
    failure = ValidationFailure(FailureCode.UNSUPPORTED_CONTENT_TYPE, "contentType", rule)
    return RejectedMessage(failure, "sqs")
