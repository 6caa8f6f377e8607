"""The message intake sends to the lane: one validated request and how it arrived.

The lane is a FIFO queue whose message group is the image set, so a group's messages are worked on
one delivery at a time and in order; the deduplication id is the requestId, so the same request
forwarded twice within SQS's five-minute window is taken once (later copies find a finished ledger
entry and only replay it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from updater.domain.audit import AttributeChange, AuditContext, Caller
from updater.domain.identifiers import is_request_id, is_resource_id
from updater.domain.ledger import LaneKey
from updater.domain.request import UpdateRequest, loads_strict


class LaneMessageInvalid(ValueError):
    """A lane message that is not what intake sends (only intake may send to the lane)."""


class LaneMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    version: Literal[1] = Field(default=1, alias="v")
    request: UpdateRequest
    trigger: str
    received_at_ms: int = Field(alias="receivedAtMs", ge=0)
    # Who sent it, as intake identified the sender from its transport (for the audit trail).
    caller: Caller | None = None

    @property
    def group_id(self) -> str:
        return self.request.image_set_id

    @property
    def dedup_id(self) -> str:
        return self.request.request_id

    @property
    def lane(self) -> LaneKey:
        return LaneKey(self.request.datastore_id, self.request.image_set_id)

    def body(self) -> str:
        return json.dumps(
            self.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":")
        )

    def request_body(self) -> str:
        """The request as the caller could send it again (what a failure record keeps)."""
        return json.dumps(self.request.wire_dict(), separators=(",", ":"), ensure_ascii=False)

    def audit_context(
        self, *, applied_at_ms: int | None = None, changes: tuple[AttributeChange, ...] = ()
    ) -> AuditContext:
        """The audit record's who, when and why for this request, with the values it changed."""
        request = self.request
        caller = (self.caller or Caller()).model_copy(update={"requested_by": request.requested_by})
        reason = request.reason
        return AuditContext(
            caller=caller,
            received_at_ms=self.received_at_ms,
            reason_code=None if reason is None else reason.code,
            reason_ticket=None if reason is None else reason.ticket,
            applied_at_ms=applied_at_ms,
            changes=changes,
        )

    @classmethod
    def parse(cls, body: str) -> LaneMessage:
        try:
            message = cls.model_validate(loads_strict(body))
        except (ValueError, ValidationError, RecursionError) as err:
            raise LaneMessageInvalid("not a lane message") from err
        request = message.request
        # Intake sends only validated requests: ids that fail their pattern are not its messages,
        # and must not become ledger keys or log fields.
        ids_valid = is_request_id(request.request_id) and all(
            is_resource_id(i) for i in (request.datastore_id, request.image_set_id)
        )
        if not ids_valid:
            raise LaneMessageInvalid("not a lane message")
        return message


@dataclass(frozen=True)
class LaneDelivery:
    """One received lane message, as the apply function sees it (no SQS shapes)."""

    message_id: str
    message: LaneMessage
    receive_count: int
    request: UpdateRequest = field(init=False)
    body: str = field(init=False)  # the request as a failure record keeps it

    def __post_init__(self) -> None:
        object.__setattr__(self, "request", self.message.request)
        object.__setattr__(self, "body", self.message.request_body())


def lane_message(
    request: UpdateRequest, *, trigger: str, received_at_ms: int, caller: Caller | None = None
) -> LaneMessage:
    return LaneMessage(request=request, trigger=trigger, received_at_ms=received_at_ms, caller=caller)


def as_wire(message: LaneMessage) -> dict[str, Any]:
    return message.model_dump(mode="json", by_alias=True, exclude_none=True)
