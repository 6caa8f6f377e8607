"""IamPrincipalIds: the unique id IAM gives a role or user, which is what SQS names a sender by.

Asked once per principal per execution environment (callers.CallerDirectory caches the answers):
IAM's read APIs are global and sparingly rate limited, and a role's id only changes when the role
is deleted and created again.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


class IamPrincipalIds:
    def __init__(self, client: Any, account_id: str) -> None:
        self._client = client
        self._account_id = account_id

    def unique_id(self, principal_arn: str) -> str | None:
        parts = principal_arn.split(":", 5)
        if len(parts) < 6 or parts[4] != self._account_id:
            # IAM answers for its own account only: asking by name would find a namesake here.
            return None
        kind, _, name = parts[5].partition("/")
        name = name.rsplit("/", 1)[-1]  # a path (role/service/ris) is not part of the name
        try:
            if kind == "role":
                return str(self._client.get_role(RoleName=name)["Role"]["RoleId"])
            if kind == "user":
                return str(self._client.get_user(UserName=name)["User"]["UserId"])
        except (ClientError, BotoCoreError):
            return None  # unknown for now: asked again later (a role created after the deploy)
        return None
