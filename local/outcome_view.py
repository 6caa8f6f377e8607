"""What became of requests on a local stack, read without consuming anything.

Three places hold the answer: the outcome bus (captured locally in the `outcome_capture` queue),
the `failures` queue (each failed request's body, with failureCode and failureMessage attributes)
and the dead-letter queues. The redrive DLQs the finalizer polls are only counted: walking them
would count as receives and move their messages on to the finalizer's DLQs. Every other DLQ is
walked, since anything there is a loss. Rows carry ids, versions, codes and messages, never
attribute values.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from local.moto_stack import AwsClients
from local.topology import LocalTopology
from updater_ops.queue_reading import QueuedMessage, depth, peek

OUTCOME_PREFIX = "ImageSetMetadataUpdate."
IMPORT_REACTED = "ImportJob.Reacted"
IMPORT_REACTION_FAILED = "ImportJob.ReactionFailed"
COLUMNS = ("time", "where", "event", "requestId", "versions", "polls", "settle ms", "reason", "message")
# Column widths --follow starts from (it cannot measure rows that have not come yet); nothing is cut.
FOLLOW_WIDTHS = (8, 11, 14, 36, 8, 5, 9, 24, 0)
ID_KEYS = ("requestId", "datastoreId", "imageSetId", "jobId", "detail-type")


@dataclass(frozen=True)
class Row:
    message_id: str
    sent_at_ms: int
    where: str
    event: str
    request_id: str
    versions: str = ""
    polls: str = ""
    settle_ms: str = ""
    reason: str = ""
    message: str = ""
    request_ids: tuple[str, ...] = ()  # every requestId the row answers for (coalesced members too)

    @property
    def failed(self) -> bool:
        return self.event in ("FAILED", "IMPORT FAILED", "LOST")

    def cells(self) -> tuple[str, ...]:
        clock = time.strftime("%H:%M:%S", time.localtime(self.sent_at_ms / 1000)) if self.sent_at_ms else "-"
        return (
            clock,
            self.where,
            self.event,
            self.request_id,
            self.versions,
            self.polls,
            self.settle_ms,
            self.reason,
            self.message,
        )


def outcome_row(detail: dict[str, Any], message_id: str = "", sent_at_ms: int = 0) -> Row:
    """One ImageSetMetadataUpdate.Succeeded/.Failed detail as a row."""
    status = str(detail.get("status", ""))
    event = "NOOP" if detail.get("noop") else "DRY RUN" if detail.get("dryRun") else status
    if status == "FAILED":
        event = "FAILED"
    from_version, to_version = detail.get("fromVersionId"), detail.get("toVersionId")
    versions = f"{from_version or '-'}->{to_version or '-'}" if from_version or to_version else "-"
    settle = detail.get("settleMs")
    request_id = str(detail.get("requestId", ""))
    return Row(
        message_id=message_id,
        sent_at_ms=sent_at_ms,
        where="outcome bus",
        event=event,
        request_id=request_id,
        versions=versions,
        polls=str(detail.get("polls", "")),
        settle_ms="-" if settle is None else str(settle),
        reason=str(detail.get("errorCode") or ""),
        message=str(detail.get("errorMessage") or ""),
        request_ids=(request_id, *map(str, detail.get("coalescedRequestIds") or ())),
    )


def _import_row(detail_type: str, detail: dict[str, Any], message: QueuedMessage) -> Row:
    job = f"job {detail.get('jobId', '?')}"
    if detail_type == IMPORT_REACTION_FAILED:
        return Row(
            message.message_id,
            message.sent_at_ms,
            "outcome bus",
            "IMPORT FAILED",
            job,
            reason=str(detail.get("errorCode", "")),
            message=str(detail.get("errorMessage", "")),
        )
    summary = (
        f"{detail.get('imageSetsSeen', 0)} image sets seen, {detail.get('updatesRequested', 0)} updates "
        f"requested, {detail.get('skipped', 0)} already correct, {detail.get('failedFiles', 0)} failed files"
    )
    return Row(message.message_id, message.sent_at_ms, "outcome bus", "IMPORT REACTED", job, message=summary)


def bus_rows(messages: Iterable[QueuedMessage]) -> list[Row]:
    rows = []
    for message in messages:
        envelope = _json_object(message.body)
        detail_type, detail = str(envelope.get("detail-type", "")), envelope.get("detail") or {}
        if detail_type.startswith(OUTCOME_PREFIX):
            rows.append(outcome_row(detail, message.message_id, message.sent_at_ms))
        elif detail_type in (IMPORT_REACTED, IMPORT_REACTION_FAILED):
            rows.append(_import_row(detail_type, detail, message))
    return rows


def failure_rows(messages: Iterable[QueuedMessage]) -> list[Row]:
    return [
        Row(
            message.message_id,
            message.sent_at_ms,
            "failures",
            "FAILED",
            message.attributes.get("requestId", "-"),
            reason=message.attributes.get("failureCode", "?"),
            message=message.attributes.get("failureMessage", ""),
            request_ids=(message.attributes.get("requestId", ""),),
        )
        for message in messages
    ]


def lost_rows(role: str, messages: Iterable[QueuedMessage]) -> list[Row]:
    rows = []
    for message in messages:
        ids = body_ids(message.body)
        request_id = str(ids.get("requestId") or ids.get("jobId") or "-")
        reason = message.attributes.get("failureCode", "")
        shown = ", ".join(f"{key}={value}" for key, value in ids.items() if key != "requestId")
        rows.append(
            Row(
                message.message_id, message.sent_at_ms, role, "LOST", request_id, reason=reason, message=shown
            )
        )
    return rows


def body_ids(body: str) -> dict[str, Any]:
    """Ids found anywhere in a message body (a request, a lane message, an event): never values."""
    found: dict[str, Any] = {}
    pending: list[Any] = [_json_object(body)]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            found |= {
                key: item[key] for key in ID_KEYS if isinstance(item.get(key), str | int) and key not in found
            }
            pending.extend(value for value in item.values() if isinstance(value, dict))
    return found


def _json_object(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


@dataclass(frozen=True)
class DeadLetterDepth:
    role: str
    messages: int
    drained_by_finalizer: bool


class OutcomeView:
    """Reads the outcome bus's capture, the failures queue and the DLQs of one local stack."""

    def __init__(self, aws: AwsClients, topology: LocalTopology) -> None:
        self._aws, self._topology = aws, topology
        polled = {mapping.queue_role for mapping in topology.event_source_mappings}
        dlqs = [role for role in topology.queues if role.endswith("_dlq")]
        self.polled_dlqs = sorted(role for role in dlqs if role in polled)
        self.terminal_dlqs = sorted(role for role in dlqs if role not in polled)

    def rows(self) -> list[Row]:
        sqs, queue = self._aws.sqs, self._topology.queue
        rows = bus_rows(peek(sqs, queue("outcome_capture").url))
        rows += failure_rows(peek(sqs, queue("failures").url))
        for role in self.terminal_dlqs:
            rows += lost_rows(role, peek(sqs, queue(role).url))
        return sorted(rows, key=lambda row: row.sent_at_ms)

    def outcome_of(self, request_id: str) -> Row | None:
        """The request's outcome event, once it has reached the outcome bus."""
        for row in bus_rows(peek(self._aws.sqs, self._topology.queue("outcome_capture").url)):
            if row.request_id == request_id:
                return row
        return None

    def dead_letter_depths(self) -> list[DeadLetterDepth]:
        depths = []
        for role in (*self.polled_dlqs, *self.terminal_dlqs):
            visible, in_flight = depth(self._aws.sqs, self._topology.queue(role).url)
            depths.append(DeadLetterDepth(role, visible + in_flight, role in self.polled_dlqs))
        return depths


def render(rows: Sequence[Row], widths: Sequence[int] | None = None, *, header: bool = True) -> str:
    """Rows as aligned text; columns grow to fit (ids are never cut)."""
    table = [COLUMNS, *(row.cells() for row in rows)] if header else [row.cells() for row in rows]
    if widths is None:
        widths = [max(len(line[column]) for line in table) for column in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    )


def dead_letter_summary(depths: Sequence[DeadLetterDepth]) -> str:
    busy = [d for d in depths if d.messages]
    if not busy:
        return f"dead-letter queues: all {len(depths)} empty, nothing lost"
    parts = [
        f"{d.role} {d.messages}" + (" (the finalizer is draining it)" if d.drained_by_finalizer else " LOST")
        for d in busy
    ]
    return f"dead-letter queues: {', '.join(parts)}; the others empty"
