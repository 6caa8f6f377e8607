"""The `audit` settings of a stage in cdk.json (no CDK here: read without starting jsii)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class AuditConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    retention_days: int = Field(default=2192, ge=1, le=36_500)
    # Who may assume the auditor role; none: the account's principals that authenticated with MFA.
    auditors: tuple[str, ...] = Field(default=(), max_length=20)
