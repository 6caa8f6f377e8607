"""Retry a failed request once its cause is fixed: the same request under a new, derived requestId.

A requestId ends once: sending the failed request again (or redriving it) only replays its stored
FAILED outcome, by design. A retry therefore takes the request from its record on the failures
queue (the body is the request as it was accepted) and sends it to the ingest queue as
`<requestId>~retry-<n>`, n the first the ledger has not seen (a retry of a retry counts on from the
same root). The record then leaves the failures queue (unless `keep_record`), and the retry is
audited: who, when, which request, as what.

A failure about the request's own content (an unknown keyword, a bad value) fails again unchanged:
such a retry is refused unless `even_if_content_failed`; send a corrected request instead. A request
pinned to a version the image set has left (VERSION_CONFLICT) fails again too, unless `unpin`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from updater_ops.deployments import Deployment, OperatorError
from updater_ops.operator_audit import AuditSink, RetryAudit
from updater_ops.queue_reading import QueuedMessage, held_messages

MAX_REQUEST_ID = 128  # requestId is 1-128 printable ASCII characters
RETRY_SUFFIX = re.compile(r"~retry-(\d+)$")
MAX_RETRIES = 1000
# Failures the request's content alone decides (parsing and validation): unchanged, it fails again.
CONTENT_FAILURES = frozenset(
    {
        "INVALID_JSON", "PAYLOAD_NOT_OBJECT", "SCHEMA_VIOLATION", "UNKNOWN_FIELD", "NESTING_TOO_DEEP",
        "PAYLOAD_TOO_LARGE", "INVALID_DATASTORE_ID", "INVALID_IMAGE_SET_ID", "INVALID_VERSION_ID",
        "INVALID_REQUEST_ID", "UPDATE_KIND_MISSING", "UPDATE_KIND_AMBIGUOUS", "INCLUDE_STUDY_WITH_REVERT",
        "DOCUMENT_NOT_OBJECT", "DOCUMENT_INVALID_JSON", "SCHEMA_VERSION_MISSING",
        "SCHEMA_VERSION_UNSUPPORTED",
        "UNKNOWN_TOP_LEVEL_KEY", "UNKNOWN_DOCUMENT_KEY", "INVALID_UID_KEY", "UNKNOWN_KEYWORD",
        "MALFORMED_PRIVATE_TAG", "INVALID_VR", "WRONG_LEVEL", "INVALID_VALUE_FOR_VR",
        "GENERATED_ATTRIBUTE", "FORCE_REQUIRED",
    }
)  # fmt: skip


@dataclass(frozen=True)
class RetryResult:
    request_id: str
    retry_request_id: str
    failure_code: str
    message_id: str
    audit: RetryAudit


def retry_root(request_id: str) -> str:
    """The requestId a chain of retries started from."""
    return RETRY_SUFFIX.sub("", request_id)


def derived_request_id(root: str, number: int) -> str:
    """`<root>~retry-<n>` within 128 characters; a cut root keeps a digest of itself, so two long
    roots that share their first characters still get different ids."""
    suffix = f"~retry-{number}"
    if len(root) + len(suffix) <= MAX_REQUEST_ID:
        return root + suffix
    digest = hashlib.sha256(root.encode()).hexdigest()[:8]
    return f"{root[: MAX_REQUEST_ID - len(suffix) - len(digest) - 1]}~{digest}{suffix}"


def next_retry_id(deployment: Deployment, request_id: str) -> str:
    root = retry_root(request_id)
    for number in range(1, MAX_RETRIES + 1):
        candidate = derived_request_id(root, number)
        if not _in_ledger(deployment, candidate):
            return candidate
    raise OperatorError(f"{root} has been retried {MAX_RETRIES} times")


def _in_ledger(deployment: Deployment, request_id: str) -> bool:
    answer = deployment.dynamodb.get_item(
        TableName=deployment.ledger_table, Key={"pk": {"S": f"req#{request_id}"}}, ProjectionExpression="pk"
    )
    return "Item" in answer


VERSION_PINS = ("expectedVersionId", "latestVersionId")


def request_to_send(record: QueuedMessage, retry_request_id: str, *, unpin: bool = False) -> dict[str, Any]:
    """The failed request with its new requestId (a requests-bus envelope gives its detail); `unpin`
    drops the version it was pinned to, so it applies on whatever version is current."""
    try:
        document = json.loads(record.body)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("detail"), dict) and "detail-type" in document:
        document = document["detail"]
    if not isinstance(document, dict) or "imageSetId" not in document:
        raise OperatorError("its failure record holds no request to send again: send a corrected one")
    kept = {key: value for key, value in document.items() if not (unpin and key in VERSION_PINS)}
    return {**kept, "requestId": retry_request_id}


def caller_identity(deployment: Deployment) -> str:
    return str(deployment.sts.get_caller_identity()["Arn"])


def retry_failed_request(
    deployment: Deployment,
    request_id: str,
    audit: AuditSink,
    *,
    keep_record: bool = False,
    even_if_content_failed: bool = False,
    unpin: bool = False,
) -> RetryResult:
    actor = caller_identity(deployment)
    with held_messages(deployment.sqs, deployment.failures_queue_url) as held:
        records = [m for m in held.messages if m.attributes.get("requestId") == request_id]
        if not records:
            raise OperatorError(
                f"no failure record for {request_id} on {deployment.description}'s failures queue "
                "(retried already, never failed, or its record expired)"
            )
        record = records[-1]  # the newest, should the outcome have been announced twice
        code = record.attributes.get("failureCode", "")
        if code in CONTENT_FAILURES and not even_if_content_failed:
            raise OperatorError(
                f"{request_id} failed {code}, a fault of its content: the same request fails again. "
                "Send a corrected request (a new requestId), or pass --even-if-content-failed"
            )
        retry_id = next_retry_id(deployment, request_id)
        sent = deployment.sqs.send_message(
            QueueUrl=deployment.ingest_queue_url,
            MessageBody=json.dumps(request_to_send(record, retry_id, unpin=unpin), ensure_ascii=False),
            MessageAttributes={
                "retryOf": {"DataType": "String", "StringValue": request_id},
                "retriedBy": {"DataType": "String", "StringValue": actor},
            },
        )
        if not keep_record:
            for message in records:
                held.delete(message)
    entry = RetryAudit(
        action="retry",
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        actor=actor,
        deployment=deployment.description,
        request_id=request_id,
        failure_code=code,
        retry_request_id=retry_id,
        unpinned=unpin,
        failure_records_removed=0 if keep_record else len(records),
    )
    audit.record(entry)
    return RetryResult(request_id, retry_id, code, str(sent["MessageId"]), entry)
