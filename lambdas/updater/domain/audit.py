"""The audit trail: one record per request that ended, kept apart from logs in a store that cannot
be rewritten (adapters.audit_store), readable only by auditors.

A record says who asked (the caller as the transport identified it, and the request's own
`requestedBy`), when (received, applied, settled, recorded), what (data store, image set, versions
from and to, the attribute paths changed per level, forced or not, the revert target), the values
before and after each changed attribute, the outcome, and why (the request's `reason`). The
values are PHI: they live in the audit store and nowhere else (never in logs, metrics, events or
the ledger). Refused requests and dry runs are recorded too, without values for what never changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from updater.domain.outcome import OutcomeStatus, UpdateOutcome
from updater.domain.planning import level_nodes

AUDIT_SCHEMA_VERSION = 1
RecordKind = Literal["change", "no-op", "dry-run", "refusal"]


class _AuditModel(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=to_camel)


class Caller(_AuditModel):
    """Who sent the request, as its transport says (never as its body says)."""

    kind: Literal["iam", "eventbridge", "import-rule", "aws-service", "unknown"] = "unknown"
    identity: str = ""  # an IAM principal id or ARN, an EventBridge source, a rule name
    name: str = ""  # the configured caller's name, when one matched
    requested_by: str | None = None  # the request's own requestedBy: what the caller says of its user


class AttributeChange(_AuditModel):
    path: str  # "<level key>.<keyword>", the level key as in outcomes (Patient, Series/<uid>, ...)
    before: Any = None
    after: Any = None
    removed: bool = False


class AuditRecord(_AuditModel):
    schema_version: int = AUDIT_SCHEMA_VERSION
    record_id: str  # unique and stable per request and kind: a replayed outcome writes the same record
    kind: RecordKind
    request_id: str
    caller: Caller = Field(default_factory=Caller)
    received_at_ms: int | None = None
    applied_at_ms: int | None = None
    settled_at_ms: int | None = None
    recorded_at_ms: int
    datastore_id: str
    image_set_id: str
    from_version_id: str | None = None
    to_version_id: str | None = None
    forced: bool = False
    revert_to_version_id: str | None = None
    changed: dict[str, list[str]] = Field(default_factory=dict)
    removed: dict[str, list[str]] = Field(default_factory=dict)
    changes: list[AttributeChange] = Field(default_factory=list)
    status: OutcomeStatus
    error_code: str | None = None
    reason_code: str | None = None  # e.g. DICOM's CORRECT or COERCE
    reason_ticket: str | None = None


class AuditSink(Protocol):
    def record(self, record: AuditRecord) -> None:
        """Store the record (a repeat of the same record id is not an error: records are written
        before the outcome they describe is stored, so a crash between the two writes it twice)."""
        ...


@dataclass(frozen=True)
class AuditContext:
    """What the outcome does not say: who asked, when it came and was applied, the values."""

    caller: Caller = field(default_factory=Caller)
    received_at_ms: int | None = None
    applied_at_ms: int | None = None
    changes: tuple[AttributeChange, ...] = ()
    reason_code: str | None = None
    reason_ticket: str | None = None


def record_kind(outcome: UpdateOutcome) -> RecordKind:
    if outcome.dry_run:
        return "dry-run"
    if outcome.to_version_id and outcome.to_version_id != outcome.from_version_id:
        return "change"  # a version was made, whatever it settled as
    return "no-op" if outcome.status is OutcomeStatus.SUCCEEDED else "refusal"


def audit_record(outcome: UpdateOutcome, context: AuditContext, *, recorded_at_ms: int) -> AuditRecord:
    """The record of a request that ended with `outcome`."""
    kind = record_kind(outcome)
    settled = None
    if context.applied_at_ms is not None and outcome.settle_ms is not None:
        settled = context.applied_at_ms + outcome.settle_ms
    return AuditRecord(
        record_id=f"{outcome.request_id}/{kind}",
        kind=kind,
        request_id=outcome.request_id,
        caller=context.caller,
        received_at_ms=context.received_at_ms,
        applied_at_ms=context.applied_at_ms,
        settled_at_ms=settled,
        recorded_at_ms=recorded_at_ms,
        datastore_id=outcome.datastore_id,
        image_set_id=outcome.image_set_id,
        from_version_id=outcome.from_version_id,
        to_version_id=outcome.to_version_id,
        forced=outcome.forced,
        revert_to_version_id=outcome.revert_to_version_id,
        changed=dict(outcome.changed),
        removed=dict(outcome.removed),
        changes=list(context.changes),
        status=outcome.status,
        error_code=None if outcome.error_code is None else str(outcome.error_code),
        reason_code=context.reason_code,
        reason_ticket=context.reason_ticket,
    )


def attribute_changes(
    changed: Mapping[str, list[str]],
    removed: Mapping[str, list[str]],
    *,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> tuple[AttributeChange, ...]:
    """Each changed attribute's value in `before` (the version the change was based on) and in
    `after` (the requested document, or the revert target's metadata). Whole series or instances
    removed or restored are listed by path only."""
    old, new = level_nodes(before), level_nodes(after)
    changes: list[AttributeChange] = []
    for key, names in changed.items():
        for name in names:
            if " " in name:  # "Series <uid>" / "Instance <uid>": a whole level, restored
                changes.append(AttributeChange(path=f"{key}.{name}"))
                continue
            changes.append(
                AttributeChange(
                    path=f"{key}.{name}", before=_value(old, key, name), after=_value(new, key, name)
                )
            )
    for key, names in removed.items():
        for name in names:
            before_value = None if " " in name else _value(old, key, name)
            changes.append(AttributeChange(path=f"{key}.{name}", before=before_value, removed=True))
    return tuple(changes)


def _value(nodes: Mapping[str, Any], key: str, name: str) -> Any:
    node = nodes.get(key)
    return None if node is None else node.dicom.get(name)
