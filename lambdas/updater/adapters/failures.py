"""FailureQueue: explained failures for operators: the request's body, its reason in attributes."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from updater.domain.errors import RetryableServiceError


class FailureQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, body: str, *, request_id: str | None, code: str, message: str) -> None:
        attributes: dict[str, dict[str, str]] = {
            "failureCode": {"DataType": "String", "StringValue": code},
            "failureMessage": {"DataType": "String", "StringValue": message[:1000] or code},
        }
        if request_id:
            attributes["requestId"] = {"DataType": "String", "StringValue": request_id}
        try:
            self._client.send_message(QueueUrl=self._url, MessageBody=body, MessageAttributes=attributes)
        except (ClientError, BotoCoreError) as err:
            raise RetryableServiceError(type(err).__name__, "failure record not sent") from err
