"""Requests that name image sets by who or what they show, not by id: the parent of a fan-out.

Two wire shapes, both within one data store:

* a selector request: ``{"datastoreId", "requestId"?, "selector": {"patient": {"PatientID",
  "IssuerOfPatientID"?}} | {"study": {"StudyInstanceUID"}}, "DICOMUpdates": {...}, "expect"?,
  "force"?, "dryRun"?, "includeStudyImageSets"?}``;
* a patient merge: ``{"datastoreId", "requestId"?, "merge": {"from": {"PatientID",
  "IssuerOfPatientID"?}, "into": {"PatientID", "IssuerOfPatientID"?, "PatientName"?,
  "PatientBirthDate"?, "PatientSex"?}}, "dryRun"?}``: a patient selector on the old identity that
  sets the new one. "Move a study to a patient" is a study selector whose DICOMUpdates set the new
  patient's identity.

Each matched image set becomes a child: an ordinary UpdateRequest (``SelectorRequest.child``) with
its own requestId, derived from the parent's and the image set id, so a replayed parent names the
same children. A child carries the selector's values as ``matchedBy`` (``domain.preconditions``):
the search matched them when the parent was resolved, and they must still hold when the child's
turn comes; IssuerOfPatientID, which SearchImageSets cannot filter on, is checked only there.
No revert and no version pin: image sets of a patient have versions of their own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from updater.domain.errors import RequestRejected
from updater.domain.expectations import Expectations
from updater.domain.request import (
    ID_PATTERN,
    PRINTABLE_PATTERN,
    REQUEST_ID_PATTERN,
    ChangeReason,
    DicomUpdates,
    UpdateRequest,
    parse_update_request,
)

PARENT_KEYS = frozenset({"selector", "merge"})
UID_PATTERN = r"^[0-9]+(\.[0-9]+)*$"
MAX_REQUEST_ID = 128
# A child's id is "<parent>/<imageSetId>" while that fits the 128 characters of a requestId.
_CHILD_SUFFIX = 1 + 32
SelectorKind = Literal["patient", "study"]


class _Model(BaseModel):
    # Built at first use: only a patient- or study-level request needs them, and apply never reads one.
    model_config = ConfigDict(
        frozen=True, populate_by_name=True, extra="forbid", strict=True, defer_build=True
    )


class PatientIdentity(_Model):
    patient_id: str = Field(alias="PatientID", min_length=1, max_length=64)
    issuer_of_patient_id: str | None = Field(
        default=None, alias="IssuerOfPatientID", min_length=1, max_length=64
    )

    def attributes(self) -> dict[str, str]:
        named = {"PatientID": self.patient_id, "IssuerOfPatientID": self.issuer_of_patient_id}
        return {keyword: value for keyword, value in named.items() if value is not None}


class StudyIdentity(_Model):
    study_instance_uid: str = Field(alias="StudyInstanceUID", max_length=64, pattern=UID_PATTERN)


class Selector(_Model):
    patient: PatientIdentity | None = None
    study: StudyIdentity | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Selector:
        if (self.patient is None) == (self.study is None):
            raise ValueError("give exactly one of patient and study")
        return self

    @property
    def kind(self) -> SelectorKind:
        return "patient" if self.patient is not None else "study"

    def matched_by(self) -> dict[str, dict[str, Any]]:
        """The values each child must still show when its turn comes."""
        if self.patient is not None:
            return {"Patient": self.patient.attributes()}
        assert self.study is not None
        return {"Study": {"StudyInstanceUID": self.study.study_instance_uid}}

    def criterion(self) -> SearchCriterion:
        """What SearchImageSets can filter on (EQUAL): PatientID or StudyInstanceUID."""
        if self.patient is not None:
            return SearchCriterion("DICOMPatientId", self.patient.patient_id)
        assert self.study is not None
        return SearchCriterion("DICOMStudyInstanceUID", self.study.study_instance_uid)


class NewIdentity(PatientIdentity):
    patient_name: str | None = Field(default=None, alias="PatientName", max_length=324)
    patient_birth_date: str | None = Field(default=None, alias="PatientBirthDate", max_length=8)
    patient_sex: str | None = Field(default=None, alias="PatientSex", max_length=16)

    def attributes(self) -> dict[str, str]:
        named = {
            **super().attributes(),
            "PatientName": self.patient_name,
            "PatientBirthDate": self.patient_birth_date,
            "PatientSex": self.patient_sex,
        }
        return {keyword: value for keyword, value in named.items() if value is not None}


class Merge(_Model):
    source: PatientIdentity = Field(alias="from")
    target: NewIdentity = Field(alias="into")


class MergeRequest(_Model):
    """A patient merge (HL7 A40's meaning): every image set of `from` gets the identity `into`."""

    datastore_id: str = Field(alias="datastoreId", json_schema_extra={"pattern": ID_PATTERN})
    request_id: str = Field(default="", alias="requestId", json_schema_extra={"pattern": REQUEST_ID_PATTERN})
    merge: Merge
    dry_run: bool = Field(default=False, alias="dryRun")
    requested_by: str | None = Field(
        default=None, alias="requestedBy", pattern=PRINTABLE_PATTERN, max_length=256
    )
    reason: ChangeReason | None = None


class SelectorRequest(_Model):
    """The parent: one change for every image set a selector matches in one data store."""

    datastore_id: str = Field(alias="datastoreId", json_schema_extra={"pattern": ID_PATTERN})
    request_id: str = Field(
        default="",
        alias="requestId",
        description="Idempotency key of the parent; derived from the content (sha256 hex) when absent.",
        json_schema_extra={"pattern": REQUEST_ID_PATTERN},
    )
    selector: Selector
    dicom_updates: DicomUpdates = Field(alias="DICOMUpdates")
    expect: Expectations = None
    force: bool = False
    dry_run: bool = Field(default=False, alias="dryRun")
    include_study_image_sets: bool = Field(
        default=False,
        alias="includeStudyImageSets",
        description="Study selector only: one study-wide call where that is equivalent (domain.fan_out).",
    )
    requested_by: str | None = Field(
        default=None,
        alias="requestedBy",
        description="Who asked, in the caller's own terms: audited on every child, never logged.",
        pattern=PRINTABLE_PATTERN,
        max_length=256,
    )
    reason: ChangeReason | None = None
    operation: Literal["update", "merge"] = Field(
        default="update", exclude=True, description="merge when translated from a merge request"
    )

    @model_validator(mode="after")
    def _derive_request_id(self) -> SelectorRequest:
        if not self.request_id:
            object.__setattr__(self, "request_id", self.content_digest())
        return self

    def content_digest(self) -> str:
        content = self.model_dump(mode="json", by_alias=True, exclude={"request_id"}, exclude_none=True)
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def child(self, image_set_id: str, *, study_wide: bool = False) -> UpdateRequest:
        """The ordinary request this parent makes of one matched image set."""
        return UpdateRequest(
            datastore_id=self.datastore_id,
            image_set_id=image_set_id,
            request_id=child_request_id(self.request_id, image_set_id),
            force=self.force,
            include_study_image_sets=study_wide,
            dry_run=self.dry_run,
            dicom_updates=self.dicom_updates,
            expect=self.expect,
            matched_by=self.selector.matched_by(),
            requested_by=self.requested_by,
            reason=self.reason,
        )

    def wire_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def child_request_id(parent_id: str, image_set_id: str) -> str:
    """Deterministic, so a replayed parent names the same children; readable while it fits."""
    if len(parent_id) + _CHILD_SUFFIX <= MAX_REQUEST_ID:
        return f"{parent_id}/{image_set_id}"
    digest = hashlib.sha256(parent_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{parent_id[:48]}~{digest}/{image_set_id}"


@dataclass(frozen=True)
class ParentMessage:
    """An ingest message that is a parent request (JSON, or translated from HL7 v2)."""

    request: SelectorRequest
    trigger: str


@dataclass(frozen=True)
class SearchCriterion:
    attribute: str  # a SearchByAttributeValue member
    value: str


@dataclass(frozen=True)
class FoundImageSet:
    image_set_id: str
    version_id: str
    is_primary: bool | None
    study_instance_uid: str | None


@dataclass(frozen=True)
class SearchResult:
    image_sets: tuple[FoundImageSet, ...]
    more: bool  # the search matched more than it was asked for


def is_parent_body(document: Any) -> bool:
    return isinstance(document, Mapping) and bool(PARENT_KEYS & document.keys())


def parse_parent_request(raw: str | bytes | Mapping[str, Any]) -> SelectorRequest:
    """A selector request or a merge, from a body or an EventBridge detail; RequestRejected otherwise."""
    # The same envelope checks as a single request (size, JSON, depth), and the same error mapping.
    from updater.domain.request import _failure_from_error, _load_envelope  # noqa: PLC0415

    payload = dict(_load_envelope(raw))
    try:
        if "merge" in payload:
            return _from_merge(payload)
        return SelectorRequest.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestRejected(tuple(_failure_from_error(error) for error in errors)) from None


def _from_merge(payload: dict[str, Any]) -> SelectorRequest:
    request = MergeRequest.model_validate(payload)
    merge = request.merge
    document = {"SchemaVersion": 1.1, "Patient": {"DICOM": merge.target.attributes()}}
    return SelectorRequest.model_validate(
        {
            "datastoreId": request.datastore_id,
            "requestId": request.request_id,
            "selector": {"patient": merge.source.model_dump(by_alias=True, exclude_none=True)},
            "DICOMUpdates": {"updatableAttributes": document},
            "dryRun": request.dry_run,
            "requestedBy": request.requested_by,
            "reason": request.reason,
            "operation": "merge",
        }
    )


def template_request(parent: SelectorRequest) -> UpdateRequest:
    """A child on a placeholder image set: validating it validates what every child will send."""
    return parse_update_request(parent.child("0" * 32).wire_dict())
