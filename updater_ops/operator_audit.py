"""What an operator command did, by whom: one record per action, handed to an audit sink.

The project's audit trail is not built yet; until it is, `PrintedAudit` writes each record as one
JSON line (stdout) and to the `updater_ops.operator_audit` logger. The trail plugs in as another `AuditSink`
(`updater_ops.retry.retry_failed_request` takes one). Records carry ids, codes and who, never the
request's attribute values.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TextIO

logger = logging.getLogger("updater_ops.operator_audit")


@dataclass(frozen=True)
class RetryAudit:
    action: str  # "retry"
    at: str  # ISO 8601, UTC
    actor: str  # the caller's identity (STS GetCallerIdentity Arn)
    deployment: str
    request_id: str  # the failed request
    failure_code: str
    retry_request_id: str  # what it was sent again as
    unpinned: bool  # sent without its expectedVersionId/latestVersionId
    failure_records_removed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AuditSink(Protocol):
    def record(self, entry: RetryAudit) -> None: ...


class PrintedAudit:
    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out

    def record(self, entry: RetryAudit) -> None:
        line = json.dumps({"audit": entry.as_dict()}, sort_keys=True)
        print(line, file=self._out or sys.stdout, flush=True)
        logger.info(line)


class CollectedAudit:
    """Keeps the records (tests, and callers that forward them elsewhere)."""

    def __init__(self) -> None:
        self.entries: list[RetryAudit] = []

    def record(self, entry: RetryAudit) -> None:
        self.entries.append(entry)
