"""Reading the audit trail: a period's records from the audit bucket, or from a copy on disk.

Records are `records/<yyyy>/<mm>/<dd>/<hash>.json`, dated by when the request was received
(lambdas/updater/adapters/audit_store.py), so a period is a list of day prefixes. Records are the
contract in events/schemas/audit-record.schema.json; this module reads them as plain JSON, so
the tools work on records of any updater version.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

RECORDS_PREFIX = "records/"

AuditRecord = dict[str, Any]


def day_prefixes(since: date, until: date) -> list[str]:
    """`records/yyyy/mm/dd/` for every day from `since` to `until`, both included."""
    days = (until - since).days
    return [f"{RECORDS_PREFIX}{(since + timedelta(days=n)).strftime('%Y/%m/%d')}/" for n in range(days + 1)]


def in_period(record: AuditRecord, since: date, until: date) -> bool:
    at_ms = record.get("receivedAtMs") or record.get("recordedAtMs") or 0
    day = datetime.fromtimestamp(int(at_ms) / 1000, tz=UTC).date()
    return since <= day <= until


@dataclass(frozen=True)
class BucketTrail:
    """The audit bucket (read with the auditor role's credentials)."""

    s3: Any
    bucket: str

    def records(self, since: date, until: date) -> Iterator[AuditRecord]:
        paginator = self.s3.get_paginator("list_objects_v2")
        for prefix in day_prefixes(since, until):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    body = self.s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                    yield json.loads(body)

    def copy_to(self, directory: Path, since: date, until: date) -> int:
        """Writes the period's records under `directory` with their keys; returns how many."""
        count = 0
        for record in self.records(since, until):
            target = directory / record_path(record)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
            count += 1
        return count


@dataclass(frozen=True)
class DirectoryTrail:
    """A copy of the trail on disk (what `make demo` leaves behind)."""

    directory: Path

    def records(self, since: date, until: date) -> Iterator[AuditRecord]:
        for path in sorted(self.directory.rglob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            if in_period(record, since, until):
                yield record


def record_path(record: AuditRecord) -> str:
    """Where a record sits in a copy: its day, then its record id made safe for a file name."""
    at_ms = record.get("receivedAtMs") or record.get("recordedAtMs") or 0
    day = datetime.fromtimestamp(int(at_ms) / 1000, tz=UTC).strftime("%Y/%m/%d")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(record.get("recordId", "record")))
    return f"{day}/{safe[:120]}.json"


def summary_row(record: AuditRecord) -> dict[str, str]:
    """One line per record for a terminal (no values: those stay in the records)."""
    caller = record.get("caller") or {}
    changed = record.get("changed") or {}
    removed = record.get("removed") or {}
    paths = sum(len(v) for v in changed.values()) + sum(len(v) for v in removed.values())
    recorded = datetime.fromtimestamp(int(record.get("recordedAtMs", 0)) / 1000, tz=UTC)
    versions = ""
    if record.get("fromVersionId") or record.get("toVersionId"):
        versions = f"{record.get('fromVersionId') or '?'}->{record.get('toVersionId') or '-'}"
    return {
        "recorded": recorded.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kind": str(record.get("kind", "")),
        "status": str(record.get("status", "")),
        "code": str(record.get("errorCode") or ""),
        "caller": str(caller.get("name") or caller.get("kind") or ""),
        "imageSet": str(record.get("imageSetId", "")),
        "versions": versions,
        "attributes": str(paths),
    }
