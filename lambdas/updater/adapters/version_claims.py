"""VersionClaims: which request may call UpdateImageSetMetadata on a given base version.

The update call names `latestVersionId`, so at most one call creates version base+1, but it carries
no client token: an invocation that died after its call cannot tell whether base+1 came from its own
call or from another request's. So before calling, a request claims its base version (a conditional
write in the ledger table); base+1 then belongs to whoever holds that claim, exactly. A claim whose
holder's lease ran out (its invocation died before calling) may be taken over while base is still
the latest version.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from updater.domain.errors import RetryableServiceError


def _key(datastore_id: str, image_set_id: str, base_version_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"base#{datastore_id}#{image_set_id}#{base_version_id}"}}


class VersionClaims:
    def __init__(self, client: Any, table_name: str, ttl_days: int = 30) -> None:
        self._client = client
        self._table = table_name
        self._ttl_s = ttl_days * 86_400

    def claim(
        self,
        datastore_id: str,
        image_set_id: str,
        base_version_id: str,
        request_id: str,
        *,
        now_ms: int,
        until_ms: int,
    ) -> str | None:
        """None once the claim is `request_id`'s; otherwise the request id that holds it."""
        key = _key(datastore_id, image_set_id, base_version_id)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET requestId = :me, leaseUntil = :until, expiresAt = :exp",
                ConditionExpression="attribute_not_exists(pk) OR requestId = :me OR leaseUntil < :now",
                ExpressionAttributeValues={
                    ":me": {"S": request_id},
                    ":until": {"N": str(until_ms)},
                    ":now": {"N": str(now_ms)},
                    ":exp": {"N": str(now_ms // 1000 + self._ttl_s)},
                },
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise RetryableServiceError("DynamoDB", "version claim failed") from err
            return self.holder(datastore_id, image_set_id, base_version_id) or "unknown"
        return None

    def holder(self, datastore_id: str, image_set_id: str, base_version_id: str) -> str | None:
        """The request whose call may have created base+1 (None: nobody ever claimed base)."""
        try:
            item = self._client.get_item(
                TableName=self._table,
                Key=_key(datastore_id, image_set_id, base_version_id),
                ConsistentRead=True,
            ).get("Item")
        except ClientError as err:
            raise RetryableServiceError("DynamoDB", "version claim unreadable") from err
        return str(item["requestId"]["S"]) if item else None
