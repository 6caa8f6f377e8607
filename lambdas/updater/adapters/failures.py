"""FailureQueue: explained failures for operators: the request's body, its reason in attributes.

Every record is shaped to what real SQS accepts, which moto does not check: a message of at most
256 KiB counting the body *and* every attribute's name, type and value; only the characters
#x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF; a body and attribute values that
are not empty. A body that arrived as a full 256 KiB message cannot carry its attributes as well,
so it is cut to fit and says so (`bodyBytes`, `bodySha256`); a record SQS would refuse would
otherwise be retried, and announced, on every delivery.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from updater.domain.errors import RetryableServiceError

MAX_MESSAGE_BYTES = 256 * 1024
MAX_MESSAGE_CHARS = 1000
EMPTY_BODY = "(empty body)"
# Compiled when first used: the class of SQS's characters takes re some 5 ms to compile, which
# every cold start paid, and most invocations send no failure record.
_NOT_SQS_TEXT = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
Attributes = dict[str, dict[str, str]]


def sqs_text(text: str) -> str:
    """`text` with every character SQS refuses (controls, lone surrogates) as U+FFFD."""
    return _not_sqs_text().sub("\ufffd", text)


@functools.cache
def _not_sqs_text() -> re.Pattern[str]:
    return re.compile(_NOT_SQS_TEXT)


def attributes_size(attributes: Attributes) -> int:
    """Bytes SQS counts for message attributes: each name, data type and value."""
    return sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def _cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-8 bytes (never half a character)."""
    return text.encode("utf-8")[: max(0, limit)].decode("utf-8", "ignore")


def failure_record(body: str, *, request_id: str | None, code: str, message: str) -> tuple[str, Attributes]:
    """(body, message attributes) of a failure record that real SQS accepts."""
    attributes: Attributes = {
        "failureCode": _string(sqs_text(code) or "UNKNOWN"),
        "failureMessage": _string(sqs_text(message)[:MAX_MESSAGE_CHARS] or sqs_text(code) or "UNKNOWN"),
    }
    if request_id:
        attributes["requestId"] = _string(sqs_text(request_id))
    text = sqs_text(body) or EMPTY_BODY
    size = len(text.encode("utf-8"))
    if size + attributes_size(attributes) <= MAX_MESSAGE_BYTES:
        return text, attributes
    attributes["bodyBytes"] = {"DataType": "Number", "StringValue": str(size)}
    attributes["bodySha256"] = _string(hashlib.sha256(text.encode("utf-8")).hexdigest())
    return _cut_to_bytes(text, MAX_MESSAGE_BYTES - attributes_size(attributes)), attributes


class FailureQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, body: str, *, request_id: str | None, code: str, message: str) -> None:
        text, attributes = failure_record(body, request_id=request_id, code=code, message=message)
        try:
            self._client.send_message(QueueUrl=self._url, MessageBody=text, MessageAttributes=attributes)
        except (ClientError, BotoCoreError) as err:
            raise RetryableServiceError(type(err).__name__, "failure record not sent") from err
