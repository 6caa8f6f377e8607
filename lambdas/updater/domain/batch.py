"""A parent's fan-out as the ledger keeps it, and the one aggregate outcome it ends with.

The parent's ledger entry (``req#<parentId>``) holds, besides what every entry holds, its fan-out:
the children named when the selector was resolved (requestId and image set of each), whether they
were all sent, and one result per child that ended (set by the child's own terminal outcome:
``domain.batch_completion``). Results are keyed by child, so a child that ends twice (a replay, a
redelivery) writes the same result again and counts once.

The aggregate is ``ImageSetMetadataUpdate.BatchSucceeded`` (every child succeeded, no-ops and
dry runs included), ``.BatchPartiallyFailed`` (some succeeded, some failed) or ``.BatchFailed``
(nothing matched, the match was too large, or no child succeeded). Children that no longer showed
the selector's values when their turn came (SELECTOR_NOT_MATCHED) are counted as not matched, not
as failures. Ids, versions, counts and codes only: never an attribute value, nor the selector's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from updater.domain.errors import FailureCode
from updater.domain.outcome import OutcomeStatus, UpdateOutcome

DETAIL_TYPE_BATCH_SUCCEEDED = "ImageSetMetadataUpdate.BatchSucceeded"
DETAIL_TYPE_BATCH_PARTIALLY_FAILED = "ImageSetMetadataUpdate.BatchPartiallyFailed"
DETAIL_TYPE_BATCH_FAILED = "ImageSetMetadataUpdate.BatchFailed"
FanOutMode = Literal["per-image-set", "study-wide"]


class BatchStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    PARTIALLY_FAILED = "PARTIALLY_FAILED"
    FAILED = "FAILED"


class _Wire(BaseModel):
    # Built at first use: only a fan-out's parent needs them.
    model_config = ConfigDict(
        populate_by_name=True, alias_generator=to_camel, extra="ignore", frozen=True, defer_build=True
    )


class ChildResult(_Wire):
    """How one child ended, as its parent counts it."""

    request_id: str
    image_set_id: str
    status: OutcomeStatus
    from_version_id: str | None = None
    to_version_id: str | None = None
    noop: bool = False
    error_code: FailureCode | None = None

    @classmethod
    def of(cls, outcome: UpdateOutcome) -> ChildResult:
        return cls(
            request_id=outcome.request_id,
            image_set_id=outcome.image_set_id,
            status=outcome.status,
            from_version_id=outcome.from_version_id,
            to_version_id=outcome.to_version_id,
            noop=outcome.noop or outcome.dry_run,
            error_code=outcome.error_code,
        )

    @property
    def not_matched(self) -> bool:
        return self.error_code is FailureCode.SELECTOR_NOT_MATCHED


class ChildRef(_Wire):
    request_id: str
    image_set_id: str
    # A study-wide call (includeStudyImageSets) made by this child reaches these image sets too.
    covers: tuple[str, ...] = ()


class FanOutPlan(_Wire):
    """What the parent fanned out to, recorded once (the first resolution wins)."""

    datastore_id: str
    trigger: str
    selector: Literal["patient", "study"]
    operation: Literal["update", "merge"] = "update"
    mode: FanOutMode = "per-image-set"
    children: tuple[ChildRef, ...]


@dataclass(frozen=True)
class FanOutRecord:
    plan: FanOutPlan
    sent: bool = False  # every child was forwarded once
    results: Mapping[str, ChildResult] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(child.request_id in self.results for child in self.plan.children)


class BatchOutcome(_Wire):
    """The ``detail`` of the parent's one aggregate event (camelCase on the wire)."""

    request_id: str
    datastore_id: str
    status: BatchStatus
    trigger: str
    selector: Literal["patient", "study"] | None = None
    operation: Literal["update", "merge"] = "update"
    mode: FanOutMode = "per-image-set"
    matched: int = Field(default=0, ge=0)
    succeeded: int = Field(default=0, ge=0)
    unchanged: int = Field(default=0, ge=0)  # succeeded without a new version (no-op, dry run)
    not_matched: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    children: list[ChildResult] = Field(default_factory=list)
    covered_image_set_ids: list[str] = Field(default_factory=list)
    error_code: FailureCode | None = None
    error_message: str | None = None

    def ended_failed(self, code: FailureCode, message: str) -> BatchOutcome:
        return self.model_copy(
            update={"status": BatchStatus.FAILED, "error_code": code, "error_message": message}
        )

    def detail_type(self) -> str:
        if self.status is BatchStatus.SUCCEEDED:
            return DETAIL_TYPE_BATCH_SUCCEEDED
        if self.status is BatchStatus.PARTIALLY_FAILED:
            return DETAIL_TYPE_BATCH_PARTIALLY_FAILED
        return DETAIL_TYPE_BATCH_FAILED


def aggregate(request_id: str, record: FanOutRecord) -> BatchOutcome:
    """The parent's outcome once every child ended (`record.complete`)."""
    plan = record.plan
    results = [record.results[child.request_id] for child in plan.children]
    succeeded = [r for r in results if r.status is OutcomeStatus.SUCCEEDED]
    not_matched = [r for r in results if r.not_matched]
    failed = [r for r in results if r.status is OutcomeStatus.FAILED and not r.not_matched]
    base = BatchOutcome(
        request_id=request_id,
        datastore_id=plan.datastore_id,
        status=BatchStatus.SUCCEEDED,
        trigger=plan.trigger,
        selector=plan.selector,
        operation=plan.operation,
        mode=plan.mode,
        matched=len(results),
        succeeded=len(succeeded),
        unchanged=sum(1 for r in succeeded if r.noop),
        not_matched=len(not_matched),
        failed=len(failed),
        children=results,
        covered_image_set_ids=sorted({i for child in plan.children for i in child.covers}),
    )
    if failed and succeeded:
        return base.model_copy(update={"status": BatchStatus.PARTIALLY_FAILED})
    if failed:
        message = "no image set the selector matched was updated"
        return base.ended_failed(FailureCode.CHILDREN_FAILED, message)
    if not succeeded:
        return base.ended_failed(FailureCode.SELECTOR_MATCHED_NOTHING, "no matched image set still matched")
    return base
