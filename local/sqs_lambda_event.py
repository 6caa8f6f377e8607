"""The SQS event Lambda's event source mapping builds, and how it reads the function's answer.

Shapes follow the Lambda developer guide ("Using Lambda with Amazon SQS"): one record per message,
attributes as strings, message attributes in Lambda's camelCase spelling with binary values
base64-encoded, and partial batch responses as `{"batchItemFailures": [{"itemIdentifier": id}]}`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local.moto_stack import LOCAL_REGION, MOTO_DEFAULT_SENDER_ID


def lambda_sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The `{"Records": [...]}` event for messages as ReceiveMessage returned them."""
    return {"Records": [lambda_sqs_record(message, queue_arn) for message in messages]}


def lambda_sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        # Every SQS record names its sender; a message a test built by hand is the local operator's.
        "attributes": {"SenderId": MOTO_DEFAULT_SENDER_ID} | dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [_base64(item) for item in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _base64(value["BinaryValue"])
    return attribute


def _base64(value: bytes | str) -> str:
    # boto3 hands binary attribute values over as bytes; Lambda's event carries them base64-encoded.
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class BatchVerdict:
    """Which messages of a batch Lambda deletes, and why the rest stay."""

    succeeded: tuple[str, ...]
    failed: tuple[str, ...]
    # None when the response was read as intended; otherwise why the whole batch counts as failed.
    error: str | None = None


def batch_verdict(
    response: Any, message_ids: Sequence[str], *, report_batch_item_failures: bool
) -> BatchVerdict:
    """Reads a successful invocation's response the way the event source mapping does.

    With ReportBatchItemFailures, a response that is not JSON or names an item that is empty,
    null or not in the batch fails the whole batch (Lambda developer guide, "Reporting batch item
    failures"); no response, or an empty list, means every message succeeded.
    """
    everything_failed = BatchVerdict(succeeded=(), failed=tuple(message_ids), error="InvalidBatchResponse")
    try:
        response = json.loads(json.dumps(response))
    except (TypeError, ValueError):
        return everything_failed
    if not report_batch_item_failures or not isinstance(response, dict):
        return BatchVerdict(succeeded=tuple(message_ids), failed=())
    failures = response.get("batchItemFailures") or []
    if not isinstance(failures, list):
        return everything_failed
    failed_ids = _failed_item_ids(failures)
    if failed_ids is None or not failed_ids <= set(message_ids):
        return everything_failed
    return BatchVerdict(
        succeeded=tuple(mid for mid in message_ids if mid not in failed_ids),
        failed=tuple(mid for mid in message_ids if mid in failed_ids),
    )


def _failed_item_ids(failures: Iterable[Any]) -> set[str] | None:
    ids: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return None
        ids.add(identifier)
    return ids


def rule_stamped(envelope: Mapping[str, Any], trusted_rules: str, role: str) -> str:
    """The body the stage's rule for `role` (imports, settles, requests) delivers to the rules queue
    (infra/events.py): the event stamped with the rule's ARN, as EventBridge's input transformer
    fills it in. `trusted_rules`: the functions' TRUSTED_RULES setting (rule ARN -> role)."""
    (arn,) = [rule_arn for rule_arn, rule_role in json.loads(trusted_rules).items() if rule_role == role]
    return json.dumps({"deliveredBy": arn, "event": envelope})
