"""Resolving a parent's selector and fanning it out to one child request per image set.

    parent ─► validate (as its children) ─► ledger.open(parent) ─┬─ ended before ─► replay its outcome
                                                                  ├─ fanned out and sent ─► duplicate
                                                                  ├─ fanned out, not all sent ─► send
                                                                  └─ new ─► search ─┬─ none ─► MATCHED_NOTHING
                                                                            ├─ > maxFanOut ─► TOO_LARGE
                                                                            └─ record plan ─► send children

Where the selector is resolved: here, in intake, with a bounded search. A match is at most
`max_fan_out` image sets (100 by default) plus one to tell "more", so at most three pages of
SearchImageSets, each taken from this environment's read share (`adapters.read_budget`). A search
that meets a throttle or the end of the share raises, the record fails alone and intake retries it
with a growing wait; nothing is written before the whole match is known, so a retry starts over.
A step on the lane was the other choice, and a worse one: lanes are per image set (a parent has
none), and a resolve step there would need a queue group and a message kind of its own for what is
a few reads. Once recorded, the plan is never resolved again: a replayed parent (or the finalizer's
last try) sends the recorded children, so a merge that already moved every image set away from the
old PatientID does not come back empty, and no parent fans out twice.

Each child is opened in the ledger with its parent's id before it is forwarded through intake's
ordinary request path (validation, ledger, lane): its own requestId, lane turn and outcome.

`includeStudyImageSets` on a study selector makes one study-wide call instead of one per image set
only when that is equivalent: every matched image set is primary (the call reaches primary image
sets only), the change is Patient- or Study-level, and no precondition is given (it would be checked
on one image set only). A patient selector always fans out per image set: equivalence would need the
whole of each study, one more search per study.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from updater.domain.batch import BatchOutcome, BatchStatus, ChildRef, ChildResult, FanOutPlan, FanOutRecord
from updater.domain.batch_completion import BatchCompletion, BatchRecorder
from updater.domain.errors import FailureCode, ValidationFailure
from updater.domain.identifiers import reported_request_id, reported_resource_id
from updater.domain.outcome import OutcomeStatus
from updater.domain.ports import Clock, FanOuts, ImageSetSearch, Ledger, MetricsSink
from updater.domain.request import UpdateRequest
from updater.domain.selectors import FoundImageSet, SelectorRequest, template_request
from updater.domain.validation import validate_request


class ChildForwarder(Protocol):
    def forward(self, child: UpdateRequest, *, trigger: str, body: str) -> None:
        """Admit one child like any request (validation, ledger, lane)."""
        ...


@dataclass(frozen=True)
class FanOutRules:
    max_fan_out: int
    payload_limit_bytes: int
    allowed_datastores: frozenset[str]


@dataclass(frozen=True)
class FannedOut:
    children: int = 0  # forwarded in this admission
    outcome: BatchOutcome | None = None  # the parent ended (now, or before)
    duplicate: bool = False  # fanned out and sent before: nothing to do
    reused: bool = False  # the requestId holds other content: intake ends it REQUEST_ID_REUSED


class FanOut:
    def __init__(
        self,
        *,
        ledger: Ledger,
        fan_outs: FanOuts,
        search: ImageSetSearch,
        batches: BatchRecorder,
        completion: BatchCompletion,
        metrics: MetricsSink,
        clock: Clock,
        rules: FanOutRules,
    ) -> None:
        self._completion = completion
        self._ledger = ledger
        self._fan_outs = fan_outs
        self._search = search
        self._batches = batches
        self._metrics = metrics
        self._clock = clock
        self._rules = rules

    def admit(
        self, parent: SelectorRequest, *, trigger: str, body: str, forward: ChildForwarder
    ) -> FannedOut:
        failure = self.validation_failure(parent)
        if failure is not None:
            return FannedOut(outcome=self._end(parent, trigger, body, failure.code, failure.message))
        opened = self._ledger.open(
            parent.request_id,
            digest=parent.content_digest(),
            datastore_id=parent.datastore_id,
            image_set_id="",
            received_at_ms=self._now_ms(),
        )
        if not opened.created and opened.entry.digest and opened.entry.digest != parent.content_digest():
            return FannedOut(reused=True)  # bound to other content: the original is not touched
        if opened.entry.terminal:
            return FannedOut(outcome=self._batches.replay(opened.entry, body))
        record = None if opened.created else self._fan_outs.read(parent.request_id)
        if record is None:
            planned = self._resolve(parent, trigger, body)
            if isinstance(planned, BatchOutcome):
                return FannedOut(outcome=planned)
            record = self._fan_outs.record_plan(parent.request_id, planned)
        elif record.sent:
            self._metrics.count("Duplicate")
            return FannedOut(duplicate=True)
        return FannedOut(children=self._send(parent, record, body, forward))

    def resend(
        self, parent: SelectorRequest, *, trigger: str, body: str, forward: ChildForwarder
    ) -> FannedOut:
        """The finalizer's last try for a parent intake could not finish: the recorded children are
        sent again; a parent that never fanned out ends RETRIES_EXHAUSTED."""
        entry = self._ledger.get(parent.request_id)
        if entry is not None and entry.terminal:
            return FannedOut(outcome=self._batches.replay(entry, body))
        record = self._fan_outs.read(parent.request_id)
        if record is None:
            message = "intake could not resolve the selector on any delivery"
            return FannedOut(outcome=self._end(parent, trigger, body, FailureCode.RETRIES_EXHAUSTED, message))
        return FannedOut(children=self._send(parent, record, body, forward))

    def validation_failure(self, parent: SelectorRequest) -> ValidationFailure | None:
        """What every child would break (a child is the template on its own image set)."""
        failures = validate_request(
            template_request(parent),
            max_payload_bytes=self._rules.payload_limit_bytes,
            allowed_datastores=self._rules.allowed_datastores,
        )
        return failures[0] if failures else None

    def _resolve(self, parent: SelectorRequest, trigger: str, body: str) -> FanOutPlan | BatchOutcome:
        limit = self._rules.max_fan_out
        found = self._search.find(parent.datastore_id, parent.selector.criterion(), at_most=limit)
        if found.more:
            message = f"the selector matches more than {limit} image sets"
            return self._end(parent, trigger, body, FailureCode.FAN_OUT_TOO_LARGE, message)
        if not found.image_sets:
            message = "the selector matched no image set"
            return self._end(parent, trigger, body, FailureCode.SELECTOR_MATCHED_NOTHING, message)
        self._metrics.observe("FanOutChildren", len(found.image_sets), "Count")
        return FanOutPlan(
            datastore_id=parent.datastore_id,
            trigger=trigger,
            selector=parent.selector.kind,
            operation=parent.operation,
            mode="study-wide" if study_wide_equivalent(parent, found.image_sets) else "per-image-set",
            children=tuple(_children(parent, found.image_sets)),
        )

    def _send(self, parent: SelectorRequest, record: FanOutRecord, body: str, forward: ChildForwarder) -> int:
        study_wide = record.plan.mode == "study-wide"
        trigger = record.plan.trigger
        for ref in record.plan.children:
            child = parent.child(ref.image_set_id, study_wide=study_wide)
            held = self._ledger.get(child.request_id)
            if held is not None and held.digest not in ("", child.content_digest()):
                # A caller's own request took the child's id first: it is not the child (it is not
                # adopted, its outcome not counted); the child cannot run, so its parent counts it
                # failed and still ends.
                self._completion.count(parent.request_id, _reused_child(child))
                continue
            # Opened with its parent before intake sees it, so however it ends, the parent counts it.
            self._ledger.open(
                child.request_id,
                digest=child.content_digest(),
                datastore_id=child.datastore_id,
                image_set_id=child.image_set_id,
                received_at_ms=self._now_ms(),
                parent_id=parent.request_id,
            )
            forward.forward(child, trigger=trigger, body=_child_body(child))
        self._fan_outs.mark_sent(parent.request_id)
        self._metrics.count("FannedOut")
        return len(record.plan.children)

    def _end(
        self, parent: SelectorRequest, trigger: str, body: str, code: FailureCode, message: str
    ) -> BatchOutcome:
        outcome = BatchOutcome(
            request_id=reported_request_id(parent.request_id),
            datastore_id=reported_resource_id(parent.datastore_id),
            status=BatchStatus.FAILED,
            trigger=trigger,
            selector=parent.selector.kind,
            operation=parent.operation,
        ).ended_failed(code, message)
        return self._batches.finish(outcome, body)

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)


def study_wide_equivalent(parent: SelectorRequest, matched: Sequence[FoundImageSet]) -> bool:
    """Whether one includeStudyImageSets call does what one call per matched image set would."""
    if not parent.include_study_image_sets or parent.selector.study is None or parent.expect is not None:
        return False
    if parent.dry_run or any(image_set.is_primary is not True for image_set in matched):
        return False
    for document in parent.dicom_updates.documents().values():
        study = document.get("Study")
        if set(document) - {"SchemaVersion", "Patient", "Study"}:
            return False
        if isinstance(study, dict) and "Series" in study:
            return False
    return True


def _children(parent: SelectorRequest, matched: Sequence[FoundImageSet]) -> list[ChildRef]:
    ids = sorted({image_set.image_set_id for image_set in matched})
    if study_wide_equivalent(parent, matched):
        head = ids[0]
        return [ChildRef(request_id=parent.child(head).request_id, image_set_id=head, covers=tuple(ids[1:]))]
    return [ChildRef(request_id=parent.child(i).request_id, image_set_id=i) for i in ids]


def _reused_child(child: UpdateRequest) -> ChildResult:
    return ChildResult(
        request_id=child.request_id,
        image_set_id=child.image_set_id,
        status=OutcomeStatus.FAILED,
        error_code=FailureCode.REQUEST_ID_REUSED,
    )


def _child_body(child: UpdateRequest) -> str:
    import json  # noqa: PLC0415

    return json.dumps(child.wire_dict(), separators=(",", ":"), ensure_ascii=False)
