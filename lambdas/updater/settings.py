"""Runtime configuration of the updater, read once at cold start from environment variables.

The CDK stack (infra/) sets exactly these variables; the local stack (local/) sets them too. A
plain pydantic model over `os.environ` (not pydantic-settings): the variables are flat strings with
exact names, and its settings machinery cost a cold start more than all of this model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from updater.domain.primary_rules import PrimaryRules


class UpdaterSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    # Data stores this deployment may touch; empty means "any" (local runs only: the stack always sets it).
    datastore_ids: str = Field(default="", alias="DATASTORE_IDS")
    ledger_table_name: str = Field(alias="LEDGER_TABLE_NAME")
    outcome_bus_name: str = Field(alias="OUTCOME_BUS_NAME")
    # Explained failures for operators: the request's body, its failureCode and failureMessage.
    failures_queue_url: str = Field(alias="FAILURES_QUEUE_URL")
    # The per-image-set FIFO queue intake forwards valid requests to and apply consumes.
    lane_queue_url: str = Field(default="", alias="LANE_QUEUE_URL")
    # The lane's redrive DLQ: the finalizer tells its messages apart from ingest ones by source.
    lane_dlq_arn: str = Field(default="", alias="LANE_DLQ_ARN")
    # HealthImaging's update payload quota is 10 KB (adjustable); the API model allows 30,000 bytes.
    payload_limit_bytes: int = Field(default=10 * 1024, alias="PAYLOAD_LIMIT_BYTES", ge=1, le=30_000)
    # Account-wide pacing of UpdateImageSetMetadata: the newest published quota is 10/s, burst 40
    # (older accounts: 0.25/s, burst 1); adjustable by AWS Support, so a stage setting.
    update_rate_per_second: float = Field(default=10.0, alias="UPDATE_RATE_PER_SECOND", gt=0)
    update_burst: int = Field(default=40, alias="UPDATE_BURST", ge=1)
    # Extra spacing between update calls: the service counts arrivals, and transit time varies.
    update_pacing_margin_ms: int = Field(default=200, alias="UPDATE_PACING_MARGIN_MS", ge=0)
    # The account's read quotas (all adjustable), the share of them the updater keeps to, and how
    # many environments of this function share that (adapters.read_budget).
    get_image_set_tps: float = Field(default=25.0, alias="GET_IMAGE_SET_TPS", gt=0)
    get_image_set_metadata_tps: float = Field(default=50.0, alias="GET_IMAGE_SET_METADATA_TPS", gt=0)
    search_image_sets_tps: float = Field(default=25.0, alias="SEARCH_IMAGE_SETS_TPS", gt=0)
    read_quota_share: float = Field(default=0.5, alias="READ_QUOTA_SHARE", gt=0, le=1)
    function_concurrency: int = Field(default=1, alias="FUNCTION_CONCURRENCY", ge=1)
    ledger_ttl_days: int = Field(default=30, alias="LEDGER_TTL_DAYS", ge=1)
    # What an invocation leaves unused: no step starts, and no AWS call, later than this before its end.
    time_reserve_ms: int = Field(default=5_000, alias="TIME_RESERVE_MS", ge=0)
    # How long a delivery polls its own call's version before the message waits on the lane instead.
    settle_inline_ms: int = Field(
        default=2_000, alias="SETTLE_INLINE_MS", ge=0
    )  # without notices: a fresh call
    # Which primary-image-set rules to assume (domain.primary_rules): learn, strict or legacy.
    primary_image_set_rules: PrimaryRules = Field(default=PrimaryRules.LEARN, alias="PRIMARY_IMAGE_SET_RULES")
    # HealthImaging's Image Set Updated / Update Failed events end settle waits (polls stay the fallback).
    settle_notices: bool = Field(default=True, alias="SETTLE_NOTICES")
    # A version still not settled this long after its call ends SETTLE_TIMEOUT.
    settle_timeout_s: int = Field(default=900, alias="SETTLE_TIMEOUT_S", ge=1)
    import_rules_path: str = Field(default="", alias="IMPORT_RULES_PATH")
    # The most image sets one selector request (a patient, a study, a merge) may change.
    max_fan_out: int = Field(default=100, alias="MAX_FAN_OUT", ge=1, le=1000)
    # Where HL7 v2 ADT messages apply (they name no data store): default, the stage's only one.
    hl7_datastore_id: str = Field(default="", alias="HL7_DATASTORE_ID")
    # Provenance: the queue only the stage's rules deliver to, each rule's ARN -> its role
    # (requests, settles, imports) as JSON, and the account and region HealthImaging events must name.
    rule_queue_arn: str = Field(default="", alias="RULE_QUEUE_ARN")
    rule_dlq_arn: str = Field(default="", alias="RULE_DLQ_ARN")
    trusted_rules: str = Field(default="", alias="TRUSTED_RULES")
    stage_account: str = Field(default="", alias="STAGE_ACCOUNT")
    stage_region: str = Field(default="", alias="STAGE_REGION")
    # Who may send and what each may do (updater.domain.callers), and what import rules may do.
    callers: str = Field(default="", alias="CALLERS")
    import_caller_rights: str = Field(default="", alias="IMPORT_CALLER_RIGHTS")
    # The audit trail's bucket; empty: no audit records (unit tests and local runs without one).
    audit_bucket: str = Field(default="", alias="AUDIT_BUCKET")

    @property
    def read_quotas(self) -> dict[str, float]:
        return {
            "GetImageSet": self.get_image_set_tps,
            "GetImageSetMetadata": self.get_image_set_metadata_tps,
            "SearchImageSets": self.search_image_sets_tps,
        }

    @property
    def hl7_datastore(self) -> str:
        if self.hl7_datastore_id:
            return self.hl7_datastore_id
        only = sorted(self.allowed_datastores)
        return only[0] if len(only) == 1 else ""

    @property
    def rule_queue_arns(self) -> frozenset[str]:
        """The rules queue and its redrive DLQ: what arrives there is stamped by a rule."""
        return frozenset(arn for arn in (self.rule_queue_arn, self.rule_dlq_arn) if arn)

    @property
    def allowed_datastores(self) -> frozenset[str]:
        return frozenset(d.strip() for d in self.datastore_ids.split(",") if d.strip())


@lru_cache(maxsize=1)
def load_settings() -> UpdaterSettings:
    return settings_from(os.environ)


def settings_from(environment: Mapping[str, str]) -> UpdaterSettings:
    """The settings in `environment` (strings, as Lambda passes them; booleans as true/false)."""
    return UpdaterSettings.model_validate(dict(environment))
