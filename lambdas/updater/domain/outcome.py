"""The terminal outcome of a request, published once on the outcome bus and stored in the ledger.

An outcome carries ids, versions, counters and attribute *names*; never attribute values (PHI). Messages
that come from HealthImaging (``UPDATE_FAILED`` reasons, exception texts) may quote values, so they pass
through ``scrub_message`` before they are put in an outcome. Ids the caller sent that fail their
pattern are reported by fingerprint (``updater.domain.identifiers``), never as sent.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from updater.domain.errors import FailureCode, ValidationFailure

SOURCE = "healthimaging.metadata-updater"
DETAIL_TYPE_SUCCEEDED = "ImageSetMetadataUpdate.Succeeded"
DETAIL_TYPE_FAILED = "ImageSetMetadataUpdate.Failed"
TRIGGERS = ("sqs", "eventbridge", "import", "local", "hl7")
MAX_MESSAGE_CHARS = 256
# A rejection's message names a location (up to 64 levels deep): bounded so the event and the
# failure record stay far below EventBridge's and SQS's 256 KB.
MAX_ERROR_MESSAGE_CHARS = 2000
_REQUEST_ID_FORMS = (
    "The key this outcome is stored and published under: the request's requestId (given, or the "
    "SHA-256 hex of its content); body-<32 hex> for a message without a usable requestId; "
    "invalid:sha256:<12 hex>:len<n> for a requestId that fails its pattern (the first 12 hex of the "
    "SHA-256 of the UTF-8 text sent, and its length in characters); reused:<12 hex>:<key> for a "
    "message that reused the requestId <key> for other content (REQUEST_ID_REUSED)."
)
_RESOURCE_ID_FORMS = (
    "As sent when it matches [0-9a-z]{32}; invalid:sha256:<12 hex>:len<n> (or invalid:<JSON type> for "
    "a value that is not a string) when it does not; empty when the message had none."
)

# Anything after one of these may be a quoted or assigned value ("Invalid value for X: 'SMITH^JOHN'").
_VALUE_MARKERS = re.compile(r"[:=\"'`\[{<]")
_UNSAFE_CHARS = re.compile(r"[^\w .,()/-]")
_WITHHELD = "(message withheld)"


def scrub_message(text: str | None) -> str:
    """Keep only the part of a service message before anything that could introduce a value.

    Deliberately conservative: ``INVALID_REQUEST:  Series of ... don't match.`` becomes
    ``INVALID_REQUEST [details withheld]``; reason codes and the error's leading words survive.
    """
    if not text:
        return _WITHHELD
    match = _VALUE_MARKERS.search(text)
    head = text[: match.start()] if match else text
    kept = " ".join(_UNSAFE_CHARS.sub(" ", head).split())[:MAX_MESSAGE_CHARS]
    if not kept:
        return _WITHHELD
    return f"{kept} [details withheld]" if match else kept


class OutcomeStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class UpdateOutcome(BaseModel):
    """The ``detail`` of ``ImageSetMetadataUpdate.Succeeded`` / ``.Failed`` events (camelCase on the wire).

    ``changed``/``removed`` map a level path to attribute names (keys: see ``updater.domain.planning``).
    For a no-op or a dry run ``toVersionId`` equals ``fromVersionId``: no version was created.
    """

    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="ignore")

    request_id: str = Field(description=_REQUEST_ID_FORMS)
    datastore_id: str = Field(description=_RESOURCE_ID_FORMS)
    image_set_id: str = Field(description=_RESOURCE_ID_FORMS)
    status: OutcomeStatus
    trigger: str = Field(json_schema_extra={"enum": list(TRIGGERS)})
    from_version_id: str | None = None
    to_version_id: str | None = None
    noop: bool = False
    dry_run: bool = False
    revert_to_version_id: str | None = None
    forced: bool = False
    attempts: int = Field(default=1, ge=0)
    polls: int = Field(default=0, ge=0)
    duration_ms: int = Field(default=0, ge=0)
    settle_ms: int | None = Field(default=None, ge=0)
    changed: dict[str, list[str]] = Field(default_factory=dict)
    removed: dict[str, list[str]] = Field(default_factory=dict)
    error_code: FailureCode | None = None
    error_message: str | None = None
    coalesced_request_ids: list[str] = Field(default_factory=list)
    reused_request_id: str | None = Field(
        default=None,
        description=(
            "REQUEST_ID_REUSED only: the requestId (as reported) this message reused. The request "
            "that holds it keeps its own outcome, under that requestId."
        ),
    )

    @field_validator("trigger")
    @classmethod
    def _known_trigger(cls, value: str) -> str:
        if value not in TRIGGERS:
            raise ValueError(f"trigger must be one of {', '.join(TRIGGERS)}")
        return value

    def failed(self, code: FailureCode, message: str) -> UpdateOutcome:
        """This outcome as a failure with `code` (versions kept: a failed call still names its version)."""
        return self.model_copy(
            update={"status": OutcomeStatus.FAILED, "error_code": code, "error_message": message}
        )

    def detail_type(self) -> str:
        return DETAIL_TYPE_SUCCEEDED if self.status is OutcomeStatus.SUCCEEDED else DETAIL_TYPE_FAILED


def rejection(
    request_id: str,
    trigger: str,
    failure: ValidationFailure,
    *,
    datastore_id: str = "",
    image_set_id: str = "",
) -> UpdateOutcome:
    """The outcome of a message refused before it reached a lane; every id given as reported
    (``updater.domain.identifiers``), never as sent."""
    return UpdateOutcome(
        request_id=request_id,
        datastore_id=datastore_id,
        image_set_id=image_set_id,
        status=OutcomeStatus.FAILED,
        trigger=trigger,
        error_code=failure.code,
        error_message=failure.message[:MAX_ERROR_MESSAGE_CHARS],
    )


def body_request_id(body: str) -> str:
    """Ledger key for a message too broken to carry or derive a requestId: its content hash
    (``body-<32 hex>``, a form ``identifiers`` reserves)."""
    return "body-" + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]
