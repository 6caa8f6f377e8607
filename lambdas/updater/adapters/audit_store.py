"""S3AuditStore: the audit trail in an S3 bucket with Object Lock in compliance mode.

One object per request, `records/<yyyy>/<mm>/<dd>/<sha256 of the request id>.json`, dated by
when the request was received (stable across redeliveries, so a period's records are a few
prefixes). The key hashes the request id: ids are the caller's text and keys show up in access
logs. The write is conditional (If-None-Match: *): records are written before the outcome they
describe is stored, so a delivery that crashed in between writes again, and the first write holds.
The bucket's default retention locks each object; the updater's role may put, never delete.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from updater.domain.audit import AuditRecord
from updater.domain.errors import RetryableServiceError

RECORDS_PREFIX = "records/"
# S3's answers to a conditional write whose key exists (or is being written by a racing request).
ALREADY_WRITTEN = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412"})


def record_key(record: AuditRecord) -> str:
    at_ms = record.received_at_ms if record.received_at_ms is not None else record.recorded_at_ms
    day = datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y/%m/%d")
    digest = hashlib.sha256(record.request_id.encode("utf-8")).hexdigest()
    return f"{RECORDS_PREFIX}{day}/{digest}.json"


class S3AuditStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def record(self, record: AuditRecord) -> None:
        body = record.model_dump_json(by_alias=True).encode("utf-8")
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=record_key(record),
                Body=body,
                ContentType="application/json",
                # Object Lock requires an integrity checksum on every write.
                ChecksumAlgorithm="SHA256",
                IfNoneMatch="*",
            )
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code")) in ALREADY_WRITTEN:
                return
            raise RetryableServiceError(type(err).__name__, "audit record not written") from err
        except BotoCoreError as err:
            raise RetryableServiceError(type(err).__name__, "audit record not written") from err
