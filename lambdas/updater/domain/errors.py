"""Machine-readable reasons why an update request is refused or fails, and the error that carries them.

Exception tree::

    Exception
     ├── RequestRejected            the request can never succeed as written (ValidationFailure items)
     └── ServiceError               an error answered by an AWS service (or the network on the way)
          ├── ConflictError         409: image set LOCKED, or `latestVersion` is stale
          ├── RetryableServiceError throttling after the SDK's own retries, 5xx, timeouts
          │    └── ThrottledError   ThrottlingException
          └── PermanentServiceError Validation / NotFound / AccessDenied / quota: retrying cannot help

One table (`error_from_aws`) maps AWS error codes onto the service errors; nothing matches on text.

Every ``ValidationFailure.message`` names the field and the rule it breaks and never the offending value:
attribute values are PHI and messages end up in logs, metrics, events and DLQ message attributes. Messages
also avoid colons and quote characters so that ``outcome.scrub_message`` leaves them intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FailureCode(StrEnum):
    """Why a request was rejected or failed; ``describe(code)`` gives the one-line meaning."""

    # Envelope: the message itself
    INVALID_JSON = "INVALID_JSON"
    DUPLICATE_KEY = "DUPLICATE_KEY"
    PAYLOAD_NOT_OBJECT = "PAYLOAD_NOT_OBJECT"
    SCHEMA_VIOLATION = "SCHEMA_VIOLATION"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    NESTING_TOO_DEEP = "NESTING_TOO_DEEP"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    # Identifiers and kind of update
    INVALID_DATASTORE_ID = "INVALID_DATASTORE_ID"
    INVALID_IMAGE_SET_ID = "INVALID_IMAGE_SET_ID"
    INVALID_VERSION_ID = "INVALID_VERSION_ID"
    INVALID_REQUEST_ID = "INVALID_REQUEST_ID"
    REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
    UPDATE_KIND_MISSING = "UPDATE_KIND_MISSING"
    UPDATE_KIND_AMBIGUOUS = "UPDATE_KIND_AMBIGUOUS"
    INCLUDE_STUDY_WITH_REVERT = "INCLUDE_STUDY_WITH_REVERT"
    DATASTORE_NOT_ALLOWED = "DATASTORE_NOT_ALLOWED"
    # Provenance and authorization: who sent it, and whether they may
    CALLER_NOT_ALLOWED = "CALLER_NOT_ALLOWED"
    OPERATION_NOT_ALLOWED = "OPERATION_NOT_ALLOWED"
    UNTRUSTED_SERVICE_EVENT = "UNTRUSTED_SERVICE_EVENT"
    # Attribute documents
    DOCUMENT_NOT_OBJECT = "DOCUMENT_NOT_OBJECT"
    DOCUMENT_INVALID_JSON = "DOCUMENT_INVALID_JSON"
    SCHEMA_VERSION_MISSING = "SCHEMA_VERSION_MISSING"
    SCHEMA_VERSION_UNSUPPORTED = "SCHEMA_VERSION_UNSUPPORTED"
    UNKNOWN_TOP_LEVEL_KEY = "UNKNOWN_TOP_LEVEL_KEY"
    UNKNOWN_DOCUMENT_KEY = "UNKNOWN_DOCUMENT_KEY"
    INVALID_UID_KEY = "INVALID_UID_KEY"
    # DICOM attributes
    UNKNOWN_KEYWORD = "UNKNOWN_KEYWORD"
    MALFORMED_PRIVATE_TAG = "MALFORMED_PRIVATE_TAG"
    PRIVATE_TAG_VR_MISSING = "PRIVATE_TAG_VR_MISSING"
    INVALID_VR = "INVALID_VR"
    WRONG_LEVEL = "WRONG_LEVEL"
    INVALID_VALUE_FOR_VR = "INVALID_VALUE_FOR_VR"
    GENERATED_ATTRIBUTE = "GENERATED_ATTRIBUTE"
    FORCE_REQUIRED = "FORCE_REQUIRED"
    # Found when planning against the image set's current metadata
    SERIES_NOT_IN_IMAGE_SET = "SERIES_NOT_IN_IMAGE_SET"
    INSTANCE_NOT_IN_IMAGE_SET = "INSTANCE_NOT_IN_IMAGE_SET"
    REMOVABLE_VALUE_MISMATCH = "REMOVABLE_VALUE_MISMATCH"
    REVERT_VERSION_NOT_FOUND = "REVERT_VERSION_NOT_FOUND"
    # Preconditions, selectors and fan-out (domain.preconditions, domain.fan_out), HL7 v2 (updater.hl7)
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    SELECTOR_NOT_MATCHED = "SELECTOR_NOT_MATCHED"
    SELECTOR_MATCHED_NOTHING = "SELECTOR_MATCHED_NOTHING"
    FAN_OUT_TOO_LARGE = "FAN_OUT_TOO_LARGE"
    CHILDREN_FAILED = "CHILDREN_FAILED"
    UNSUPPORTED_CONTENT_TYPE = "UNSUPPORTED_CONTENT_TYPE"
    HL7_MALFORMED = "HL7_MALFORMED"
    HL7_FIELD_INVALID = "HL7_FIELD_INVALID"
    # Runtime outcomes (set by the service layer, not by validation)
    VERSION_CONFLICT = "VERSION_CONFLICT"
    IMAGE_SET_NOT_FOUND = "IMAGE_SET_NOT_FOUND"
    ACCESS_DENIED = "ACCESS_DENIED"
    SERVICE_REJECTED = "SERVICE_REJECTED"
    PRIMARY_IMAGE_SET_RESTRICTED = "PRIMARY_IMAGE_SET_RESTRICTED"
    SERVICE_QUOTA_EXCEEDED = "SERVICE_QUOTA_EXCEEDED"
    UPDATE_FAILED = "UPDATE_FAILED"
    SETTLE_TIMEOUT = "SETTLE_TIMEOUT"
    RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # Events and envelopes on the ingest queues that are not requests
    UNKNOWN_ENVELOPE = "UNKNOWN_ENVELOPE"
    SETTLE_EVENT_INVALID = "SETTLE_EVENT_INVALID"
    EVENT_OUT_OF_SCOPE = "EVENT_OUT_OF_SCOPE"
    IMPORT_EVENT_INVALID = "IMPORT_EVENT_INVALID"
    IMPORT_OUTPUT_UNREADABLE = "IMPORT_OUTPUT_UNREADABLE"


_DESCRIPTIONS: dict[FailureCode, str] = {
    FailureCode.INVALID_JSON: "The message body is not valid UTF-8 JSON (or uses NaN/Infinity).",
    FailureCode.DUPLICATE_KEY: (
        "A JSON object in the message repeats a key (parsers disagree on which one wins)."
    ),
    FailureCode.PAYLOAD_NOT_OBJECT: "The message body is JSON but not a JSON object.",
    FailureCode.SCHEMA_VIOLATION: "A field is missing or has the wrong JSON type.",
    FailureCode.UNKNOWN_FIELD: (
        "The request has a field the contract does not define (typos are not ignored)."
    ),
    FailureCode.NESTING_TOO_DEEP: "The request nests objects/arrays deeper than the contract allows.",
    FailureCode.PAYLOAD_TOO_LARGE: (
        "The raw message exceeds 256 KiB, or an encoded attribute document exceeds the configured update "
        "payload limit (10 KB default) or the API's 30,000-byte blob limit."
    ),
    FailureCode.INVALID_DATASTORE_ID: "datastoreId does not match [0-9a-z]{32}.",
    FailureCode.INVALID_IMAGE_SET_ID: "imageSetId does not match [0-9a-z]{32}.",
    FailureCode.INVALID_VERSION_ID: (
        "expectedVersionId/latestVersionId or revertToVersionId is not 1-20 ASCII digits."
    ),
    FailureCode.INVALID_REQUEST_ID: (
        "requestId is not 1-128 printable ASCII characters without spaces, or has a form the updater "
        "derives (invalid:..., reused:..., body-<32 hex>)."
    ),
    FailureCode.REQUEST_ID_REUSED: (
        "The requestId was used before for other content: this message ends under its own key "
        "(reused:...), the original request and its outcome are untouched."
    ),
    FailureCode.UPDATE_KIND_MISSING: (
        "Neither DICOMUpdates (with at least one document) nor revertToVersionId."
    ),
    FailureCode.UPDATE_KIND_AMBIGUOUS: "Both DICOMUpdates and revertToVersionId are given.",
    FailureCode.INCLUDE_STUDY_WITH_REVERT: "includeStudyImageSets cannot be combined with revertToVersionId.",
    FailureCode.DATASTORE_NOT_ALLOWED: "The data store is not one this deployment may update.",
    FailureCode.CALLER_NOT_ALLOWED: (
        "The sender (as SQS or the requests bus rule identifies it, never as the body says) is not one of "
        "the stage's callers, or may not change this data store."
    ),
    FailureCode.OPERATION_NOT_ALLOWED: (
        "The caller may not use force, revertToVersionId or includeStudyImageSets (the stage's callers "
        "configuration grants each)."
    ),
    FailureCode.UNTRUSTED_SERVICE_EVENT: (
        "A message that looks like a HealthImaging event but did not come through the stage's own "
        "default-bus rule, or names another account or region: HealthImaging events are trusted only "
        "from that rule."
    ),
    FailureCode.DOCUMENT_NOT_OBJECT: "updatableAttributes/removableAttributes is not a JSON object.",
    FailureCode.DOCUMENT_INVALID_JSON: (
        "An attribute document given as a string is not valid JSON (nor base64 JSON)."
    ),
    FailureCode.SCHEMA_VERSION_MISSING: "An attribute document lacks SchemaVersion.",
    FailureCode.SCHEMA_VERSION_UNSUPPORTED: "SchemaVersion is neither the number 1.1 nor the string 1.1.",
    FailureCode.UNKNOWN_TOP_LEVEL_KEY: (
        "A document has a top-level key other than SchemaVersion, Patient, Study."
    ),
    FailureCode.UNKNOWN_DOCUMENT_KEY: (
        "A level object has a key other than DICOM, DICOMVRs, Series, Instances (as allowed at that "
        "level), or a level/DICOM map is not an object."
    ),
    FailureCode.INVALID_UID_KEY: "A Series or Instances key is not a valid DICOM UID.",
    FailureCode.UNKNOWN_KEYWORD: (
        "A DICOM key is neither a keyword of the DICOM data dictionary nor a private tag."
    ),
    FailureCode.MALFORMED_PRIVATE_TAG: (
        "A tag-shaped key is not 8 hex digits with an odd group number above 0008."
    ),
    FailureCode.PRIVATE_TAG_VR_MISSING: "A private tag is added without a DICOMVRs entry giving its VR.",
    FailureCode.INVALID_VR: "A DICOMVRs entry is not a DICOM value representation, or names no private tag.",
    FailureCode.WRONG_LEVEL: (
        "An attribute is placed at a level (Patient/Study/Series/Instance) it does not belong to."
    ),
    FailureCode.INVALID_VALUE_FOR_VR: (
        "A value breaks its VR's format or length rules (allowed only with force)."
    ),
    FailureCode.GENERATED_ATTRIBUTE: "The attribute is generated by HealthImaging and can never be updated.",
    FailureCode.FORCE_REQUIRED: (
        "UIDs, StudyID, PixelData, SQ or multi-valued values, retired keywords or instance-level private "
        "tags need force=true."
    ),
    FailureCode.SERIES_NOT_IN_IMAGE_SET: "The document updates a series the image set does not contain.",
    FailureCode.INSTANCE_NOT_IN_IMAGE_SET: "The document updates an instance the image set does not contain.",
    FailureCode.REMOVABLE_VALUE_MISMATCH: "A removal gives a value that differs from the stored one.",
    FailureCode.REVERT_VERSION_NOT_FOUND: "revertToVersionId names a version the image set does not have.",
    FailureCode.PRECONDITION_FAILED: (
        "An attribute named in expect does not hold the expected value on the version the update "
        "would be based on: nothing was changed."
    ),
    FailureCode.SELECTOR_NOT_MATCHED: (
        "The image set no longer holds the selector's values (or another IssuerOfPatientID) when its "
        "turn came: nothing was changed; the parent counts it as not matched."
    ),
    FailureCode.SELECTOR_MATCHED_NOTHING: "The selector matched no image set (or none still matched).",
    FailureCode.FAN_OUT_TOO_LARGE: (
        "The selector matches more image sets than one request may change (the stage's maxFanOut)."
    ),
    FailureCode.CHILDREN_FAILED: "Every image set the selector matched failed its update.",
    FailureCode.UNSUPPORTED_CONTENT_TYPE: (
        "The message attribute contentType names a format the updater does not take (JSON or "
        "application/hl7-v2)."
    ),
    FailureCode.HL7_MALFORMED: "An HL7 v2 message that is not ER7 with an MSH segment the updater can read.",
    FailureCode.HL7_FIELD_INVALID: (
        "An HL7 v2 ADT message lacks a field its event needs (PID-3, MRG-1) or a field does not map to "
        "DICOM (PID-7 not a date)."
    ),
    FailureCode.VERSION_CONFLICT: (
        "The image set moved past the pinned version, or stayed locked until retries ran out."
    ),
    FailureCode.IMAGE_SET_NOT_FOUND: "HealthImaging reports the data store or image set does not exist.",
    FailureCode.ACCESS_DENIED: "HealthImaging denied the call (IAM or KMS).",
    FailureCode.SERVICE_REJECTED: "HealthImaging refused the update with a ValidationException.",
    FailureCode.PRIMARY_IMAGE_SET_RESTRICTED: (
        "A primary image set takes no Patient- or Series-level changes and no forced UID changes (the "
        "newest developer guide): copy it, update the copy and promote it to primary."
    ),
    FailureCode.SERVICE_QUOTA_EXCEEDED: (
        "HealthImaging refused the update with ServiceQuotaExceededException."
    ),
    FailureCode.UPDATE_FAILED: "The new version settled as UPDATE_FAILED.",
    FailureCode.SETTLE_TIMEOUT: (
        "The update call made a new version that was still not settled when the wait ran out."
    ),
    FailureCode.RETRIES_EXHAUSTED: (
        "No delivery finished: throttling, server errors, timeouts or crashes on every retry."
    ),
    FailureCode.INTERNAL_ERROR: "An unexpected error in the updater itself.",
    FailureCode.UNKNOWN_ENVELOPE: (
        "An EventBridge envelope of a source and detail-type the updater does not take."
    ),
    FailureCode.SETTLE_EVENT_INVALID: (
        "A HealthImaging image set event whose detail lacks the documented ids."
    ),
    FailureCode.EVENT_OUT_OF_SCOPE: "A HealthImaging event for a data store this deployment may not touch.",
    FailureCode.IMPORT_EVENT_INVALID: "An Import Job Completed event whose detail lacks documented fields.",
    FailureCode.IMPORT_OUTPUT_UNREADABLE: (
        "The import job's manifests, image sets or fan-out stayed unreadable or failing on every delivery."
    ),
}


def describe(code: FailureCode) -> str:
    """One-line meaning of a failure code (used by the README table and the outcome documentation)."""
    return _DESCRIPTIONS[code]


@dataclass(frozen=True)
class ValidationFailure:
    """One broken rule. ``field`` is a dotted location such as
    ``DICOMUpdates.updatableAttributes.Patient.DICOM.PatientBirthDate``; ``message`` never holds a value."""

    code: FailureCode
    field: str
    message: str


class RequestRejected(Exception):
    """The request cannot succeed as written; retrying it unchanged is pointless."""

    def __init__(self, failures: tuple[ValidationFailure, ...] | list[ValidationFailure]) -> None:
        if not failures:
            raise ValueError("RequestRejected needs at least one failure")
        self.failures: tuple[ValidationFailure, ...] = tuple(failures)
        super().__init__(self.summary())

    @property
    def code(self) -> FailureCode:
        return self.failures[0].code

    def summary(self) -> str:
        first = self.failures[0]
        more = len(self.failures) - 1
        suffix = f" (and {more} more)" if more else ""
        return f"{first.code.value} at {first.field or 'request'} - {first.message}{suffix}"

    def __str__(self) -> str:
        return self.summary()


class ServiceError(Exception):
    """An error answered by an AWS service (or the network on the way to it)."""

    def __init__(self, aws_code: str, message: str) -> None:
        super().__init__(f"{aws_code}: {message}")
        self.aws_code = aws_code
        self.message = message


class ConflictError(ServiceError):
    pass


class RetryableServiceError(ServiceError):
    pass


class ThrottledError(RetryableServiceError):
    """`retry_after_s`: when the throttle is the updater's own (its share of a read quota), how long
    until its turn; None when the service throttled, whose refill is not known."""

    def __init__(self, aws_code: str, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(aws_code, message)
        self.retry_after_s = retry_after_s


class PermanentServiceError(ServiceError):
    def __init__(self, aws_code: str, message: str, failure_code: FailureCode) -> None:
        super().__init__(aws_code, message)
        self.failure_code = failure_code


_PERMANENT: dict[str, FailureCode] = {
    "ValidationException": FailureCode.SERVICE_REJECTED,
    "ResourceNotFoundException": FailureCode.IMAGE_SET_NOT_FOUND,
    "AccessDeniedException": FailureCode.ACCESS_DENIED,
    "ServiceQuotaExceededException": FailureCode.SERVICE_QUOTA_EXCEEDED,
}
_THROTTLING = {"ThrottlingException", "TooManyRequestsException", "429"}


def error_from_aws(aws_code: str, message: str) -> ServiceError:
    """Map an AWS error code to the domain error type (unknown codes count as retryable)."""
    if aws_code in _PERMANENT:
        return PermanentServiceError(aws_code, message, _PERMANENT[aws_code])
    if aws_code in ("ConflictException", "409"):
        return ConflictError(aws_code, message)
    if aws_code in _THROTTLING:
        return ThrottledError(aws_code, message)
    # 5xx, timeouts and codes we do not know: SQS retries, the redrive policy bounds it.
    return RetryableServiceError(aws_code, message)
