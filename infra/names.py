"""Physical names and Lambda environment derived from the configuration alone.

The stack and the local runner both use these, so a queue or table has the same name in AWS and in
moto. Names are explicit (not CDK-generated) because other services address the ingest queues and
the requests bus by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.caller_config import callers_setting
from infra.config import ServiceConfig, StageConfig

# Where the local bundler puts the stage's import rules file inside the Lambda asset.
BUNDLED_IMPORT_RULES_FILE = "import-rules.json"
LAMBDA_TASK_ROOT = "/var/task"
# One code asset, three functions: each handler module is the only code that knows its event shape.
INTAKE_HANDLER = "updater.handlers.intake.lambda_handler"
APPLY_HANDLER = "updater.handlers.apply.lambda_handler"
FINALIZE_HANDLER = "updater.handlers.finalize.lambda_handler"
REQUEST_DETAIL_TYPE = "ImageSetMetadataUpdate.Requested"
IMPORT_COMPLETED_SOURCE = "aws.medical-imaging"
IMPORT_COMPLETED_DETAIL_TYPE = "Import Job Completed"
# Per image set: the import rules run on whichever of the two comes first (updater.imports).
IMAGE_SET_CREATED_DETAIL_TYPE = "Image Set Created"
SETTLE_NOTICE_DETAIL_TYPES = ("Image Set Updated", "Image Set Update Failed")


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
    def lane_queue(self) -> str:
        return f"{self.prefix}-lane.fifo"

    @property
    def lane_dlq(self) -> str:
        return f"{self.prefix}-lane-dlq.fifo"

    @property
    def rule_queue(self) -> str:
        """Where the stage's EventBridge rules deliver (and nobody else may send)."""
        return f"{self.prefix}-rules"

    @property
    def rule_dlq(self) -> str:
        return f"{self.prefix}-rules-dlq"

    @property
    def failures_queue(self) -> str:
        return f"{self.prefix}-failures"

    @property
    def finalize_dlq(self) -> str:
        return f"{self.prefix}-finalize-dlq"

    @property
    def requests_rule_dlq(self) -> str:
        return f"{self.prefix}-requests-rule-dlq"

    @property
    def settle_rule_dlq(self) -> str:
        return f"{self.prefix}-settle-rule-dlq"

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

    def function(self, role: str) -> str:
        """`intake`, `apply` or `finalize`."""
        return f"{self.prefix}-{role}"

    def log_group(self, role: str) -> str:
        return f"/aws/lambda/{self.function(role)}"

    def audit_bucket(self, account: str) -> str:
        # Bucket names are global: the account keeps two deployments of a stage name apart.
        return f"{self.prefix}-audit-{account}"

    def audit_access_logs_bucket(self, account: str) -> str:
        return f"{self.prefix}-audit-logs-{account}"

    @property
    def auditor_role(self) -> str:
        return f"{self.prefix}-auditor"

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
    failures_queue_url: str,
    lane_queue_url: str,
    lane_dlq_arn: str,
    import_rules_path: str,
    rule_queue_arn: str = "",
    rule_dlq_arn: str = "",
    trusted_rules: str = "",
    audit_bucket: str = "",
) -> dict[str, str]:
    """Exactly the variables `updater.settings.UpdaterSettings` reads (plus Powertools' own); the
    three functions share them, each reading what it needs.

    Queue URLs and ARNs are parameters because they are CloudFormation tokens in the stack and moto
    values locally; everything else comes from the stage configuration.
    """
    return {
        "DATASTORE_IDS": ",".join(stage.datastore_ids),
        "LEDGER_TABLE_NAME": ledger_table_name,
        "OUTCOME_BUS_NAME": outcome_bus_name,
        "FAILURES_QUEUE_URL": failures_queue_url,
        "LANE_QUEUE_URL": lane_queue_url,
        "LANE_DLQ_ARN": lane_dlq_arn,
        "PAYLOAD_LIMIT_BYTES": str(stage.payload_limit_bytes),
        "UPDATE_RATE_PER_SECOND": str(stage.update_rate_per_second),
        "UPDATE_BURST": str(stage.update_burst),
        "UPDATE_PACING_MARGIN_MS": str(stage.update_pacing_margin_ms),
        "GET_IMAGE_SET_TPS": str(stage.get_image_set_tps),
        "GET_IMAGE_SET_METADATA_TPS": str(stage.get_image_set_metadata_tps),
        "SEARCH_IMAGE_SETS_TPS": str(stage.search_image_sets_tps),
        "READ_QUOTA_SHARE": str(stage.read_quota_share),
        "LEDGER_TTL_DAYS": str(stage.ledger_ttl_days),
        "TIME_RESERVE_MS": str(stage.time_reserve_ms),
        "SETTLE_INLINE_MS": str(stage.settle_inline_ms),
        "SETTLE_TIMEOUT_S": str(stage.settle_timeout_seconds),
        "SETTLE_NOTICES": "true",
        "PRIMARY_IMAGE_SET_RULES": stage.primary_image_set_rules,
        "IMPORT_RULES_PATH": import_rules_path,
        "MAX_FAN_OUT": str(stage.max_fan_out),
        "HL7_DATASTORE_ID": stage.hl7_datastore_id or "",
        "RULE_QUEUE_ARN": rule_queue_arn,
        "RULE_DLQ_ARN": rule_dlq_arn,
        "TRUSTED_RULES": trusted_rules,
        "CALLERS": callers_setting(stage.callers),
        "IMPORT_CALLER_RIGHTS": ",".join(stage.import_caller.names()),
        "STAGE_ACCOUNT": stage.account,
        "STAGE_REGION": stage.region,
        "AUDIT_BUCKET": audit_bucket,
        "POWERTOOLS_SERVICE_NAME": service.name,
        "POWERTOOLS_METRICS_NAMESPACE": service.metrics_namespace,
        "LOG_LEVEL": stage.log_level,
    }
