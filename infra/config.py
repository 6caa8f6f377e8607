"""Per-environment configuration of the updater, read from the `stages` table in cdk.json context.

The same model serves the CDK app (app.py) and the local runner (local/), which calls
`load_stage_config(stage)` to derive resource names and Lambda settings without synthesizing.
Bad configuration fails here, at synth time, with a message naming the stage and the key.

The shipped cdk.json holds obviously fake account ids (111122223333, 222222222222, 333333333333),
data store ids and buckets, valid enough to synthesize every stage. A deployment's own values
(accounts, data stores, import buckets) go in the git-ignored `cdk.context.local.json` next to
it, in the same shape (`{"stages": {"prod": {"account": "...", "datastoreIds": [...]}}}`), merged
key by key over cdk.json. `CDK_CONTEXT_LOCAL_FILE` names another file, or none when empty (the
test suite sets it empty: it checks the shipped values).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from infra.audit_config import AuditConfig
from infra.caller_config import CallerConfig, CallerRights, CallersConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"
LOCAL_CONTEXT_FILE_NAME = "cdk.context.local.json"
LOCAL_CONTEXT_ENV = "CDK_CONTEXT_LOCAL_FILE"
STAGES_CONTEXT_KEY = "stages"
SERVICE_CONTEXT_KEY = "service"

# Lambda's maximum timeout; SQS's maximum visibility timeout is 12 h, far above 6 x 900 s.
LAMBDA_MAX_TIMEOUT_SECONDS = 900
# A FIFO event source mapping accepts at most 10 records per batch; we use one limit for both queues.
SQS_MAX_BATCH_SIZE = 10
# The retention periods CloudWatch Logs accepts (RetentionInDays).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
VISIBILITY_TIMEOUT_FACTOR = 6
# Intake's queues: the two caller queues and the rules queue.
INGEST_QUEUES = 3
# Stage names become part of stack, queue and table names.
STAGE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,15}$")

DatastoreId = Annotated[str, Field(pattern=r"^[0-9a-z]{32}$")]
# A bucket, optionally with a key prefix ending in "/": without the slash, `output*` in the IAM
# policy would also open `output-of-another-team/`.
S3Prefix = Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/([^*?]*/)?)?$")]


class ConfigError(ValueError):
    """cdk.json context is missing or invalid; the message names the stage and the offending keys."""


class _CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class AlarmThresholds(_CamelModel):
    """Alarm thresholds; DLQ depth alarms always fire at > 0 and are not configurable."""

    oldest_message_age_seconds: int = Field(ge=60)
    lambda_errors: int = Field(ge=1)
    lambda_throttles: int = Field(ge=1)
    update_failed: int = Field(ge=1)
    evaluation_periods: int = Field(default=1, ge=1)
    period_seconds: int = Field(default=300, ge=60)


class S3Location(BaseModel):
    """An `s3://bucket/prefix/` URI split into the parts IAM policies need."""

    model_config = ConfigDict(frozen=True)
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        return cls(bucket=bucket, prefix=prefix)


class StageConfig(_CamelModel):
    """One environment (dev, staging, prod): where it lives and how the updater is sized."""

    name: str = Field(default="", exclude=True)
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    datastore_ids: tuple[DatastoreId, ...] = Field(min_length=1)
    memory_size_mb: int = Field(ge=128, le=10_240)
    timeout_seconds: int = Field(ge=10, le=LAMBDA_MAX_TIMEOUT_SECONDS)
    reserved_concurrency: int = Field(ge=2)
    batch_size: int = Field(ge=1, le=SQS_MAX_BATCH_SIZE)
    # Per event source mapping; Lambda's minimum for ScalingConfig.MaximumConcurrency is 2.
    max_concurrency: int = Field(ge=2, le=1000)
    max_receive_count: int = Field(ge=1, le=1000)
    alarms: AlarmThresholds
    log_retention_days: int
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    ledger_ttl_days: int = Field(ge=1)
    # HealthImaging's quotas (the newest developer guide: UpdateImageSetMetadata 10/s burst 40;
    # accounts on the older quota: 0.25/s burst 1), all adjustable through AWS Support.
    update_rate_per_second: float = Field(gt=0)
    update_burst: int = Field(ge=1)
    get_image_set_tps: float = Field(default=25.0, gt=0)
    get_image_set_metadata_tps: float = Field(default=50.0, gt=0)
    search_image_sets_tps: float = Field(default=25.0, gt=0)
    # The primary-image-set rules the updater assumes (lambdas/updater/domain/primary_rules.py).
    primary_image_set_rules: Literal["learn", "strict", "legacy"] = "learn"
    # The share of each read quota the updater keeps to; the rest is left to other readers.
    read_quota_share: float = Field(default=0.5, gt=0, le=1)
    # Extra spacing between update calls (the service counts arrivals; transit time varies).
    update_pacing_margin_ms: int = Field(default=200, ge=0)
    # HealthImaging's update payload quota is 10 KB; the API model allows 30,000 bytes.
    payload_limit_bytes: int = Field(default=10 * 1024, ge=1, le=30_000)
    time_reserve_ms: int = Field(default=5_000, ge=0)
    # The lane (apply): concurrent image sets worked on, and how long a delivery polls its own call.
    lane_max_concurrency: int = Field(default=4, ge=2, le=1000)
    settle_inline_ms: int = Field(default=2_000, ge=0, le=30_000)
    settle_timeout_seconds: int = Field(default=900, ge=60, le=43_200)
    # Receives a lane message may use: every wait (pacing slot, lock, settle poll) is one.
    lane_max_receive_count: int = Field(default=200, ge=10, le=1000)
    import_output_s3_uris: tuple[S3Prefix, ...] = ()
    import_input_s3_uris: tuple[S3Prefix, ...] = ()
    import_rules_file: str | None = None
    # The most image sets one selector request (patient, study, merge) may change.
    max_fan_out: int = Field(default=100, ge=1, le=1000)
    # Where HL7 v2 ADT messages apply; default: the stage's only data store.
    hl7_datastore_id: DatastoreId | None = None
    removal_policy: Literal["retain", "destroy"] = "retain"
    # Who may send requests and what each may do (infra/callers.py); import rules are a caller too.
    callers: tuple[CallerConfig, ...] = ()
    import_caller: CallerRights = CallerRights()
    audit: AuditConfig = AuditConfig()

    @field_validator("callers")
    @classmethod
    def _callers_apart(cls, callers: tuple[CallerConfig, ...]) -> tuple[CallerConfig, ...]:
        return CallersConfig(callers=callers).callers

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {sorted(LOG_RETENTION_DAYS)}")
        return days

    @field_validator("datastore_ids")
    @classmethod
    def _unique_datastores(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(ids)) != len(ids):
            raise ValueError("data store ids must be unique")
        return ids

    @model_validator(mode="after")
    def _concurrency_fits(self) -> StageConfig:
        # Three event source mappings (standard, FIFO, rules) each scale up to max_concurrency; with
        # less reserved concurrency Lambda throttles the pollers and messages drift toward the DLQ.
        if self.reserved_concurrency < INGEST_QUEUES * self.max_concurrency:
            raise ValueError(
                "reservedConcurrency must be at least 3 x maxConcurrency (one mapping per ingest queue)"
            )
        if self.time_reserve_ms >= self.timeout_seconds * 1000:
            raise ValueError("timeReserveMs must be shorter than timeoutSeconds")
        return self

    @property
    def visibility_timeout_seconds(self) -> int:
        """AWS's guidance for SQS-triggered Lambdas: at least 6 x the function timeout."""
        return VISIBILITY_TIMEOUT_FACTOR * self.timeout_seconds

    @property
    def import_output_locations(self) -> tuple[S3Location, ...]:
        return tuple(S3Location.parse(uri) for uri in self.import_output_s3_uris)

    @property
    def import_input_locations(self) -> tuple[S3Location, ...]:
        return tuple(S3Location.parse(uri) for uri in self.import_input_s3_uris)

    def import_rules_path(self, repo_root: Path = REPO_ROOT) -> Path | None:
        return repo_root / self.import_rules_file if self.import_rules_file else None


class ServiceConfig(_CamelModel):
    """Settings shared by every stage: names that appear in logs, metrics and events."""

    name: str = Field(default="healthimaging-metadata-updater", pattern=r"^[a-z][a-z0-9-]{2,40}$")
    metrics_namespace: str = Field(default="HealthImagingMetadataUpdater", pattern=r"^[A-Za-z0-9_./#:-]+$")


class AppConfig(BaseModel):
    model_config = ConfigDict(frozen=True)
    service: ServiceConfig
    stages: dict[str, StageConfig]

    def stage(self, name: str) -> StageConfig:
        if name not in self.stages:
            raise ConfigError(f"unknown stage {name!r}; cdk.json defines {sorted(self.stages)}")
        return self.stages[name]


def _format_errors(stage: str, error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "(stage)"
        lines.append(f"  stages.{stage}.{location}: {item['msg']}")
    return "\n".join(lines)


def _parse_stage(name: str, raw: Any) -> StageConfig:
    if not STAGE_NAME_PATTERN.match(name):
        raise ConfigError(f"stage name {name!r} must match {STAGE_NAME_PATTERN.pattern}")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"stages.{name} must be an object")
    try:
        return StageConfig.model_validate({**raw, "name": name})
    except ValidationError as error:
        raise ConfigError(
            f"invalid configuration for stage {name!r}:\n{_format_errors(name, error)}"
        ) from None


def parse_app_config(context: Mapping[str, Any]) -> AppConfig:
    """Parses the cdk.json `context` object (or the equivalent values from `App.node`)."""
    raw_stages = context.get(STAGES_CONTEXT_KEY)
    if not isinstance(raw_stages, Mapping) or not raw_stages:
        raise ConfigError(f"cdk.json context must define a non-empty {STAGES_CONTEXT_KEY!r} object")
    try:
        service = ServiceConfig.model_validate(context.get(SERVICE_CONTEXT_KEY) or {})
    except ValidationError as error:
        raise ConfigError(f"invalid configuration:\n{_format_errors('service', error)}") from None
    stages = {name: _parse_stage(name, raw) for name, raw in raw_stages.items()}
    return AppConfig(service=service, stages=stages)


def read_cdk_context(cdk_json: Path = CDK_JSON, *, with_local: bool = True) -> dict[str, Any]:
    """cdk.json's context, with the local context file merged over it unless `with_local` is False."""
    try:
        document = json.loads(cdk_json.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"cannot read {cdk_json}: {error}") from None
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise ConfigError(f"{cdk_json}: 'context' must be an object")
    return merged_context(context, read_local_context(cdk_json)) if with_local else context


def local_context_file(cdk_json: Path = CDK_JSON) -> Path | None:
    """Where a deployment's own stage values are: `CDK_CONTEXT_LOCAL_FILE`, else next to cdk.json."""
    configured = os.environ.get(LOCAL_CONTEXT_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    return cdk_json.with_name(LOCAL_CONTEXT_FILE_NAME)


def read_local_context(cdk_json: Path = CDK_JSON) -> dict[str, Any]:
    """The local context file's values ({} when there is none)."""
    path = local_context_file(cdk_json)
    if path is None or not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path} must be a JSON object shaped like cdk.json's context")
    return document


def merged_context(base: Any, override: Any) -> Any:
    """`override` over `base`, objects merged key by key (a stage's alarms too), anything else replaced."""
    if not isinstance(base, Mapping) or not isinstance(override, Mapping):
        return override
    return {**base, **{key: merged_context(base.get(key), value) for key, value in override.items()}}


def load_app_config(cdk_json: Path = CDK_JSON) -> AppConfig:
    return parse_app_config(read_cdk_context(cdk_json))


def load_stage_config(stage: str, cdk_json: Path = CDK_JSON) -> StageConfig:
    """The typed configuration of one stage, straight from cdk.json (no synthesis, no AWS calls)."""
    return load_app_config(cdk_json).stage(stage)
