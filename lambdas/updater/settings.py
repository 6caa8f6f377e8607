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
    # Permanent failures are copied here with their reason (the standard ingest queue's DLQ).
    failure_dlq_url: str = Field(alias="FAILURE_DLQ_URL")
    # Where import-completed reactions fan their UpdateRequests out (the standard ingest queue).
    ingest_queue_url: str = Field(default="", alias="INGEST_QUEUE_URL")
    # HealthImaging's update payload quota is 10 KB (adjustable); the API model allows 30,000 bytes.
    payload_limit_bytes: int = Field(default=10 * 1024, alias="PAYLOAD_LIMIT_BYTES", ge=1, le=30_000)
    # Account-wide pacing of UpdateImageSetMetadata (quota 0.25/s, burst 1; adjustable by AWS Support).
    update_rate_per_second: float = Field(default=0.25, alias="UPDATE_RATE_PER_SECOND", gt=0)
    update_burst: int = Field(default=1, alias="UPDATE_BURST", ge=1)
    # Extra spacing between update calls: the service counts arrivals, and transit time varies.
    update_pacing_margin_ms: int = Field(default=200, alias="UPDATE_PACING_MARGIN_MS", ge=0)
    ledger_ttl_days: int = Field(default=30, alias="LEDGER_TTL_DAYS", ge=1)
    # Stop polling and hand the request back when less than this remains of the invocation.
    time_reserve_ms: int = Field(default=5_000, alias="TIME_RESERVE_MS", ge=0)
    # The ingest queues' redrive maxReceiveCount: the last delivery of a transient failure ends it
    # with a RETRIES_EXHAUSTED outcome instead of letting it slip silently into the DLQ.
    max_receive_count: int = Field(default=5, alias="MAX_RECEIVE_COUNT", ge=1)
    import_rules_path: str = Field(default="", alias="IMPORT_RULES_PATH")

    @property
    def allowed_datastores(self) -> frozenset[str]:
        return frozenset(d.strip() for d in self.datastore_ids.split(",") if d.strip())


@lru_cache(maxsize=1)
def load_settings() -> UpdaterSettings:
    return UpdaterSettings()  # values come from the environment
