"""Physical names and Lambda environment derived from the configuration alone.

The stack and the local runner both use these, so a queue or table has the same name in AWS and in
moto. Names are explicit (not CDK-generated) because other services address the ingest queues and
the requests bus by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.config import ServiceConfig, StageConfig

# Where the local bundler puts the stage's import rules file inside the Lambda asset.
BUNDLED_IMPORT_RULES_FILE = "import-rules.json"
LAMBDA_TASK_ROOT = "/var/task"
HANDLER = "updater.handler.lambda_handler"
REQUEST_DETAIL_TYPE = "ImageSetMetadataUpdate.Requested"
IMPORT_COMPLETED_SOURCE = "aws.medical-imaging"
IMPORT_COMPLETED_DETAIL_TYPE = "Import Job Completed"


@dataclass(frozen=True)
class ResourceNames:
    """Names of one stage's resources: `<service>-<stage>-<role>`."""

    service: str
    stage: str

    @property
    def prefix(self) -> str:
        return f"{self.service}-{self.stage}"

    @property
    def ingest_queue(self) -> str:
        return f"{self.prefix}-ingest"

    @property
    def ingest_dlq(self) -> str:
        return f"{self.prefix}-ingest-dlq"

    @property
    def fifo_ingest_queue(self) -> str:
        return f"{self.prefix}-ingest.fifo"

    @property
    def fifo_ingest_dlq(self) -> str:
        return f"{self.prefix}-ingest-dlq.fifo"

    @property
    def requests_rule_dlq(self) -> str:
        return f"{self.prefix}-requests-rule-dlq"

    @property
    def import_rule_dlq(self) -> str:
        return f"{self.prefix}-import-rule-dlq"

    @property
    def ledger_table(self) -> str:
        return f"{self.prefix}-ledger"

    @property
    def outcome_bus(self) -> str:
        return f"{self.prefix}-outcomes"

    @property
    def requests_bus(self) -> str:
        return f"{self.prefix}-requests"

    @property
    def function(self) -> str:
        return f"{self.prefix}-updater"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function}"

    @property
    def alarm_topic(self) -> str:
        return f"{self.prefix}-alarms"

    @property
    def dashboard(self) -> str:
        return f"{self.prefix}-updater"


def bundled_import_rules_path(stage: StageConfig) -> str:
    """IMPORT_RULES_PATH inside the deployed function, or "" when the stage ships no rules file."""
    return f"{LAMBDA_TASK_ROOT}/{BUNDLED_IMPORT_RULES_FILE}" if stage.import_rules_file else ""


def updater_environment(
    stage: StageConfig,
    service: ServiceConfig,
    *,
    ledger_table_name: str,
    outcome_bus_name: str,
    failure_dlq_url: str,
    ingest_queue_url: str,
    import_rules_path: str,
) -> dict[str, str]:
    """Exactly the variables `updater.settings.UpdaterSettings` reads (plus Powertools' own).

    Queue URLs are parameters because they are CloudFormation tokens in the stack and moto URLs
    locally; everything else comes from the stage configuration.
    """
    return {
        "DATASTORE_IDS": ",".join(stage.datastore_ids),
        "LEDGER_TABLE_NAME": ledger_table_name,
        "OUTCOME_BUS_NAME": outcome_bus_name,
        "FAILURE_DLQ_URL": failure_dlq_url,
        "INGEST_QUEUE_URL": ingest_queue_url,
        "PAYLOAD_LIMIT_BYTES": str(stage.payload_limit_bytes),
        "UPDATE_RATE_PER_SECOND": str(stage.update_rate_per_second),
        "UPDATE_BURST": str(stage.update_burst),
        "UPDATE_PACING_MARGIN_MS": str(stage.update_pacing_margin_ms),
        "LEDGER_TTL_DAYS": str(stage.ledger_ttl_days),
        "TIME_RESERVE_MS": str(stage.time_reserve_ms),
        # The handler ends a transient failure's last delivery itself instead of losing it to the DLQ.
        "MAX_RECEIVE_COUNT": str(stage.max_receive_count),
        "IMPORT_RULES_PATH": import_rules_path,
        "POWERTOOLS_SERVICE_NAME": service.name,
        "POWERTOOLS_METRICS_NAMESPACE": service.metrics_namespace,
        "LOG_LEVEL": stage.log_level,
    }
