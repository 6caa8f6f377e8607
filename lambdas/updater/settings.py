"""Runtime configuration of the updater, read once at cold start from environment variables.

The CDK stack (infra/) sets exactly these variables; the local stack (local/) sets them too.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class UpdaterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

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
    ledger_ttl_days: int = Field(default=30, alias="LEDGER_TTL_DAYS", ge=1)
    # What an invocation leaves unused: no step starts, and no AWS call, later than this before its end.
    time_reserve_ms: int = Field(default=5_000, alias="TIME_RESERVE_MS", ge=0)
    # How long a delivery polls its own call's version before the message waits on the lane instead.
    settle_inline_ms: int = Field(default=2_000, alias="SETTLE_INLINE_MS", ge=0)
    # A version still not settled this long after its call ends SETTLE_TIMEOUT.
    settle_timeout_s: int = Field(default=900, alias="SETTLE_TIMEOUT_S", ge=1)
    import_rules_path: str = Field(default="", alias="IMPORT_RULES_PATH")

    @property
    def allowed_datastores(self) -> frozenset[str]:
        return frozenset(d.strip() for d in self.datastore_ids.split(",") if d.strip())


@lru_cache(maxsize=1)
def load_settings() -> UpdaterSettings:
    return UpdaterSettings()  # values come from the environment
