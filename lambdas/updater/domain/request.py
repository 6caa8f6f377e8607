"""The one request contract of the updater, accepted from SQS bodies, EventBridge ``detail`` and local runs.

Two wire shapes are accepted:

* native: ``{"datastoreId", "imageSetId", "requestId"?, "expectedVersionId"?, "force"?,
  "includeStudyImageSets"?, "dryRun"?, "DICOMUpdates": {"updatableAttributes"?, "removableAttributes"?}
  | "revertToVersionId"}``;
* unchanged ``aws medical-imaging update-image-set-metadata --cli-input-json`` input, where
  ``latestVersionId`` acts as ``expectedVersionId`` and the update sits under
  ``updateImageSetMetadataUpdates``.

Attribute documents may be JSON objects, JSON text, or base64 of JSON text (what the CLI's default
``--cli-binary-format base64`` expects). When ``requestId`` is absent it is derived from the content: the
SHA-256 hex digest (64 chars) of the canonical JSON (sorted keys, compact, defaults included) of every other
field, so redelivering the same content always maps to the same ledger entry. Send an explicit requestId to
apply identical content again on purpose.

Parsing checks shape and JSON types only; the DICOM rules live in ``updater.domain.validation``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from updater.domain.errors import FailureCode, RequestRejected, ValidationFailure
from updater.domain.expectations import Expectations
from updater.domain.identifiers import ID_PATTERN, REQUEST_ID_PATTERN, VERSION_PATTERN
from updater.domain.redaction import shown_key

MAX_RAW_BYTES = 256 * 1024  # SQS and EventBridge both cap a message at 256 KiB
MAX_NESTING = 64  # deep enough for Study/Series/Instances/DICOM plus nested sequences
# Free text the audit trail keeps: no control characters (they would forge lines in exports).
PRINTABLE_PATTERN = r"^[^\x00-\x1f\x7f]+$"
CLI_SHAPE_KEYS = frozenset({"updateImageSetMetadataUpdates", "latestVersionId"})
__all__ = ["ID_PATTERN", "REQUEST_ID_PATTERN", "VERSION_PATTERN"]


class DuplicateKey(ValueError):
    """A JSON object repeats a key: which value counts would depend on the parser."""


def _reject_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise DuplicateKey("an object repeats a key")
    return document


def loads_strict(text: str | bytes) -> Any:
    """json.loads that refuses NaN/Infinity (the service cannot take them and json.dumps would emit
    them) and repeated keys (DuplicateKey; Python keeps the last, other parsers the first)."""
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)


def compact_json(value: Any) -> bytes:
    """The exact bytes sent to HealthImaging for an attribute document, and the basis of its size check."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def json_shape_problem(value: Any) -> tuple[FailureCode, str] | None:
    """Find what keeps ``value`` from being plain, finite, UTF-8-encodable JSON of bounded depth.

    Iterative on purpose: arbitrary input must not be able to exhaust the recursion limit.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            return FailureCode.NESTING_TOO_DEEP, f"nesting exceeds {MAX_NESTING} levels"
        if isinstance(item, Mapping):
            if not all(isinstance(key, str) for key in item):
                return FailureCode.INVALID_JSON, "object keys must be strings"
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return FailureCode.INVALID_JSON, "text contains unpaired surrogates"
        elif isinstance(item, float) and not math.isfinite(item):
            return FailureCode.INVALID_JSON, "numbers must be finite"
        elif item is not None and not isinstance(item, bool | int | float):
            return FailureCode.INVALID_JSON, "values must be JSON types"
    return None


def _decode_document_text(text: str | bytes) -> Any:
    try:
        return loads_strict(text)
    except DuplicateKey:
        raise _duplicate_key_error() from None
    except (ValueError, RecursionError):
        pass
    try:  # the CLI's default binary format sends blobs base64-encoded
        return loads_strict(base64.b64decode(text, validate=True).decode("utf-8"))
    except DuplicateKey:
        raise _duplicate_key_error() from None
    except (ValueError, RecursionError, binascii.Error):
        raise PydanticCustomError(
            FailureCode.DOCUMENT_INVALID_JSON.value, "document text is neither JSON nor base64 of JSON"
        ) from None


def _duplicate_key_error() -> PydanticCustomError:
    return PydanticCustomError(FailureCode.DUPLICATE_KEY.value, "document repeats a key in an object")


def _parse_document(value: Any) -> Any:
    if value is None:
        return None
    parsed = _decode_document_text(value) if isinstance(value, str | bytes) and value else value
    if not isinstance(parsed, dict):
        raise PydanticCustomError(FailureCode.DOCUMENT_NOT_OBJECT.value, "document must be a JSON object")
    problem = json_shape_problem(parsed)
    if problem:
        raise PydanticCustomError(problem[0].value, problem[1])
    return parsed


_DOCUMENT_SCHEMA = {
    "anyOf": [
        {
            "type": "object",
            "required": ["SchemaVersion"],
            "properties": {"SchemaVersion": {"enum": [1.1, "1.1"]}},
        },
        {"type": "string", "description": "The same document as JSON text, or base64 of that text"},
        {"type": "null"},
    ]
}
AttributeDocument = Annotated[
    dict[str, Any] | None, BeforeValidator(_parse_document), WithJsonSchema(_DOCUMENT_SCHEMA)
]


class DicomUpdates(BaseModel):
    """The ``DICOMUpdates`` member: documents shaped like the metadata document (see validation.document)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid", strict=True)

    updatable_attributes: AttributeDocument = Field(default=None, alias="updatableAttributes")
    removable_attributes: AttributeDocument = Field(default=None, alias="removableAttributes")

    def documents(self) -> dict[str, dict[str, Any]]:
        """Present documents keyed by their wire name."""
        named = {
            "updatableAttributes": self.updatable_attributes,
            "removableAttributes": self.removable_attributes,
        }
        return {name: doc for name, doc in named.items() if doc is not None}


class ChangeReason(BaseModel):
    """Why the change is made: audited, never logged, never in outcomes or metrics."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid", strict=True)

    # DICOM's Reason for the Attribute Modification (0400,0562): CORRECT (an error is fixed) or
    # COERCE (a value changed to fit a receiving system's expectations).
    code: Literal["CORRECT", "COERCE"]
    ticket: str | None = Field(
        default=None,
        description="The change's ticket in the caller's system.",
        pattern=PRINTABLE_PATTERN,
        max_length=128,
    )


class UpdateRequest(BaseModel):
    """One metadata change for one image set. Ids are checked by ``validate_request``, not here."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid", strict=True)

    datastore_id: str = Field(alias="datastoreId", json_schema_extra={"pattern": ID_PATTERN})
    image_set_id: str = Field(alias="imageSetId", json_schema_extra={"pattern": ID_PATTERN})
    request_id: str = Field(
        default="",
        alias="requestId",
        description="Idempotency key; derived from the content (sha256 hex) when absent.",
        json_schema_extra={"pattern": REQUEST_ID_PATTERN},
    )
    expected_version_id: str | None = Field(
        default=None,
        alias="expectedVersionId",
        description="Pin: fail with VERSION_CONFLICT instead of rebasing when the image set moved on.",
        json_schema_extra={"pattern": VERSION_PATTERN},
    )
    force: bool = False
    include_study_image_sets: bool = Field(default=False, alias="includeStudyImageSets")
    dry_run: bool = Field(default=False, alias="dryRun")
    dicom_updates: DicomUpdates | None = Field(default=None, alias="DICOMUpdates")
    revert_to_version_id: str | None = Field(
        default=None, alias="revertToVersionId", json_schema_extra={"pattern": VERSION_PATTERN}
    )
    expect: Expectations = Field(
        default=None, description="Preconditions: values that must hold (domain.preconditions)."
    )
    matched_by: Expectations = Field(
        default=None, alias="matchedBy", description="Set by the fan-out: the values a selector matched."
    )
    requested_by: str | None = Field(
        default=None,
        alias="requestedBy",
        description="Who asked, in the caller's own terms (a user id): audited, never logged.",
        pattern=PRINTABLE_PATTERN,
        max_length=256,
    )
    reason: ChangeReason | None = None

    @model_validator(mode="after")
    def _derive_request_id(self) -> UpdateRequest:
        if not self.request_id:
            # Frozen model: the derived key is part of construction, not a later mutation.
            object.__setattr__(self, "request_id", self.content_digest())
        return self

    def content_digest(self) -> str:
        # Fields added since requests were first keyed are left out while unset, so a request's
        # derived id never changes with the updater's version.
        optional = ("requested_by", "reason", "expect", "matched_by")
        unset = {name for name in optional if getattr(self, name) is None}
        content = self.model_dump(mode="json", by_alias=True, exclude={"request_id", *unset})
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def is_revert(self) -> bool:
        return self.revert_to_version_id is not None

    def api_updates(self) -> dict[str, Any]:
        """The boto3 ``updateImageSetMetadataUpdates`` value; call only on a validated request."""
        if self.is_revert == (self.dicom_updates is not None):
            raise ValueError("exactly one of DICOMUpdates and revertToVersionId is required")
        if self.revert_to_version_id is not None:
            return {"revertToVersionId": self.revert_to_version_id}
        assert self.dicom_updates is not None
        blobs = {name: compact_json(doc) for name, doc in self.dicom_updates.documents().items()}
        return {"DICOMUpdates": blobs}

    def encoded_sizes(self) -> dict[str, int]:
        """Bytes of each compact-JSON attribute document, as sent to the service."""
        if self.dicom_updates is None:
            return {}
        return {name: len(compact_json(doc)) for name, doc in self.dicom_updates.documents().items()}

    def wire_dict(self) -> dict[str, Any]:
        """Native camelCase form (documents as objects, requestId kept) for re-enqueueing the request."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class CliMetadataUpdates(BaseModel):
    """``updateImageSetMetadataUpdates`` of the CLI input: the API's MetadataUpdates union."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid", strict=True)

    dicom_updates: DicomUpdates | None = Field(default=None, alias="DICOMUpdates")
    revert_to_version_id: str | None = Field(default=None, alias="revertToVersionId")


class CliUpdateInput(BaseModel):
    """``aws medical-imaging update-image-set-metadata --cli-input-json`` input (plus our optional extras)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid", strict=True)

    datastore_id: str = Field(alias="datastoreId", json_schema_extra={"pattern": ID_PATTERN})
    image_set_id: str = Field(alias="imageSetId", json_schema_extra={"pattern": ID_PATTERN})
    latest_version_id: str | None = Field(
        default=None, alias="latestVersionId", json_schema_extra={"pattern": VERSION_PATTERN}
    )
    force: bool = False
    include_study_image_sets: bool = Field(default=False, alias="includeStudyImageSets")
    updates: CliMetadataUpdates = Field(alias="updateImageSetMetadataUpdates")
    request_id: str = Field(default="", alias="requestId")
    dry_run: bool = Field(default=False, alias="dryRun")

    def to_request(self) -> UpdateRequest:
        return UpdateRequest(
            datastore_id=self.datastore_id,
            image_set_id=self.image_set_id,
            request_id=self.request_id,
            expected_version_id=self.latest_version_id,
            force=self.force,
            include_study_image_sets=self.include_study_image_sets,
            dry_run=self.dry_run,
            dicom_updates=self.updates.dicom_updates,
            revert_to_version_id=self.updates.revert_to_version_id,
        )


_TYPE_RULES = {
    "missing": "is required",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "extra_forbidden": "is not a field of the contract",
}


def _contract_fields() -> frozenset[str]:
    models: tuple[type[BaseModel], ...] = (UpdateRequest, DicomUpdates, CliUpdateInput, CliMetadataUpdates)
    return frozenset(
        name for model in models for field_name, info in model.model_fields.items()
        for name in (field_name, info.alias) if name
    )  # fmt: skip


CONTRACT_FIELDS = _contract_fields()


def _location(loc: tuple[int | str, ...]) -> str:
    # An unknown field's name is the caller's text: shown only when it is a known name.
    return ".".join(shown_key(part, CONTRACT_FIELDS) for part in loc)


def _failure_from_error(error: Mapping[str, Any]) -> ValidationFailure:
    kind = str(error["type"])
    field = _location(tuple(error["loc"]))
    if kind in FailureCode.__members__:
        return ValidationFailure(FailureCode(kind), field, f"{field} {error['msg']}")
    code = FailureCode.UNKNOWN_FIELD if kind == "extra_forbidden" else FailureCode.SCHEMA_VIOLATION
    rule = _TYPE_RULES.get(kind, f"breaks the rule {kind}")
    return ValidationFailure(code, field, f"{field or 'request'} {rule}")


def _reject(code: FailureCode, message: str, field: str = "") -> RequestRejected:
    return RequestRejected((ValidationFailure(code, field, message),))


def _load_envelope(raw: str | bytes | bytearray | Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(raw, str | bytes | bytearray):
        payload: Any = raw  # already parsed (an EventBridge detail), possibly not even an object
    else:
        size = len(raw) if isinstance(raw, bytes | bytearray) else len(raw.encode("utf-8", "surrogatepass"))
        if size > MAX_RAW_BYTES:
            raise _reject(FailureCode.PAYLOAD_TOO_LARGE, f"request exceeds {MAX_RAW_BYTES} bytes")
        try:
            payload = loads_strict(bytes(raw) if isinstance(raw, bytearray) else raw)
        except DuplicateKey:
            raise _reject(FailureCode.DUPLICATE_KEY, "request body repeats a key in an object") from None
        except (ValueError, RecursionError):
            raise _reject(FailureCode.INVALID_JSON, "request body is not valid UTF-8 JSON") from None
    if not isinstance(payload, Mapping):
        raise _reject(FailureCode.PAYLOAD_NOT_OBJECT, "request body must be a JSON object")
    problem = json_shape_problem(payload)
    if problem:
        raise _reject(*problem)
    if not isinstance(raw, str | bytes | bytearray) and len(compact_json(payload)) > MAX_RAW_BYTES:
        raise _reject(FailureCode.PAYLOAD_TOO_LARGE, f"request exceeds {MAX_RAW_BYTES} bytes")
    return payload


def parse_update_request(raw: str | bytes | Mapping[str, Any]) -> UpdateRequest:
    """Build an UpdateRequest from either wire shape; malformed input raises RequestRejected, nothing else."""
    payload = _load_envelope(raw)
    try:
        if CLI_SHAPE_KEYS & payload.keys():
            return CliUpdateInput.model_validate(dict(payload)).to_request()
        return UpdateRequest.model_validate(dict(payload))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestRejected(tuple(_failure_from_error(error) for error in errors)) from None
