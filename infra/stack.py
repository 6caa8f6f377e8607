"""One stack per environment: everything the updater needs, composed from one construct per concern.

callers ─► ingest / ingest.fifo      rules ◄─ EventBridge rules (requests bus, HealthImaging's bus)
               │ intake fn ◄───────────┘      (queue policies: configured callers / the stage's rules)
               ▼
           lane.fifo (one group per image set) ── apply fn ──► HealthImaging
               │ redrive                     ingest DLQs ─┐
               ▼                                          ▼
           lane-dlq.fifo ─────────────────────────► finalize fn ──► finalize-dlq(.fifo): pages
every outcome ─► outcome bus; explained failures ─► failures queue; every change ─► audit trail
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Environment, RemovalPolicy, Stack, Tags
from constructs import Construct

from infra.audit import AUDIT_RECORDS_PREFIX, AuditTrail
from infra.bundling import UpdaterAssetSources, updater_code
from infra.callers import restrict_caller_queue, restrict_requests_bus
from infra.config import REPO_ROOT, ServiceConfig, StageConfig
from infra.events import EventRouting
from infra.function import FunctionSpec, UpdaterFunction
from infra.ingest import IngestQueues, QueueSettings
from infra.lane import FinishQueues, LaneQueues, LaneSettings
from infra.ledger import LedgerTable
from infra.nag import JustifiedResources, suppress_justified_findings
from infra.names import (
    APPLY_HANDLER,
    FINALIZE_HANDLER,
    INTAKE_HANDLER,
    ResourceNames,
    bundled_import_rules_path,
    updater_environment,
)
from infra.observability import MonitoredResources, Observability
from infra.outputs import add_outputs
from infra.permissions import SharedGrants, apply_statements, finalize_statements, intake_statements
from infra.security import EncryptionKey

FUNCTION_ROLES = ("intake", "apply", "finalize")
# The finalizer has little to do (only what SQS gave up on): a small, steady function.
FINALIZE_CONCURRENCY = 2


class MetadataUpdaterStack(Stack):
    def __init__(
        self,
        scope: Construct,
        *,
        stage: StageConfig,
        service: ServiceConfig,
        repo_root: Path = REPO_ROOT,
        **kwargs: Any,
    ) -> None:
        names = ResourceNames(service.name, stage.name)
        super().__init__(
            scope,
            names.prefix,
            stack_name=names.prefix,
            # Explicit account and region: synthesis never asks STS, and a stage cannot land elsewhere.
            env=Environment(account=stage.account, region=stage.region),
            description=f"HealthImaging metadata updater ({stage.name})",
            termination_protection=stage.removal_policy == "retain",
            **kwargs,
        )
        self.names = names
        Tags.of(self).add("service", service.name)
        Tags.of(self).add("stage", stage.name)
        removal = RemovalPolicy.RETAIN if stage.removal_policy == "retain" else RemovalPolicy.DESTROY

        security = EncryptionKey(self, "Encryption", alias=f"alias/{names.prefix}", removal_policy=removal)
        key = self.key = security.key
        dlq_visibility = 6 * stage.timeout_seconds
        self.finish = FinishQueues(self, "Finish", names=names, key=key, removal_policy=removal)
        self.ingest = IngestQueues(
            self,
            "Ingest",
            key=key,
            settings=QueueSettings(
                stage.visibility_timeout_seconds, stage.max_receive_count, removal, dlq_visibility
            ),
            standard_names=(names.ingest_queue, names.ingest_dlq),
            fifo_names=(names.fifo_ingest_queue, names.fifo_ingest_dlq),
            rule_names=(names.rule_queue, names.rule_dlq),
            finalize_dlqs=self.finish.finalize_dlqs,
        )
        self.lane = LaneQueues(
            self,
            "Lane",
            names=names,
            key=key,
            settings=LaneSettings(
                stage.visibility_timeout_seconds, stage.lane_max_receive_count, dlq_visibility, removal
            ),
            finalize_fifo_dlq=self.finish.finalize_fifo_dlq,
        )
        self.ledger = LedgerTable(
            self, "Ledger", table_name=names.ledger_table, key=key, removal_policy=removal
        )
        self.routing = EventRouting(
            self,
            "Events",
            names=names,
            datastore_ids=stage.datastore_ids,
            rule_queue=self.ingest.rules,
            key=key,
            removal_policy=removal,
        )
        for queue in self.ingest.caller_queues:
            restrict_caller_queue(queue, stage.callers)
        restrict_requests_bus(self.routing.requests_bus, stage.callers)
        self.audit = AuditTrail(
            self,
            "Audit",
            bucket_name=names.audit_bucket(stage.account),
            access_logs_bucket_name=names.audit_access_logs_bucket(stage.account),
            auditor_role_name=names.auditor_role,
            key=key,
            config=stage.audit,
        )
        security.allow_log_groups([names.log_group(role) for role in FUNCTION_ROLES])
        security.allow_cloudwatch_alarms()
        security.allow_eventbridge_delivery()
        self._functions(stage, service, names, repo_root, key, removal)
        self.observability = Observability(
            self,
            "Observability",
            topic_name=names.alarm_topic,
            dashboard_name=names.dashboard,
            namespace=service.metrics_namespace,
            service_name=service.name,
            thresholds=stage.alarms,
            key=key,
            resources=MonitoredResources(
                functions=[self.intake.function, self.apply.function, self.finalize.function],
                ingest_queues=[*self.ingest.queues, self.lane.queue],
                redrive_queues=[*self.ingest.dead_letter_queues, self.lane.dlq],
                lost_queues=[*self.finish.finalize_dlqs, *self.routing.dead_letter_queues],
            ),
        )
        add_outputs(self)
        suppress_justified_findings(
            JustifiedResources(
                policies=[
                    self.intake.policy,
                    self.apply.policy,
                    self.finalize.policy,
                    self.audit.auditor_policy,
                ],
                functions=[self.intake.function, self.apply.function, self.finalize.function],
                rule_target_dlqs=self.routing.dead_letter_queues,
                ledger_table=self.ledger.table,
                failures_queue=self.finish.failures,
                audit_buckets=[self.audit.bucket, self.audit.access_logs],
                audit_access_logs=self.audit.access_logs,
            )
        )

    def _functions(
        self,
        stage: StageConfig,
        service: ServiceConfig,
        names: ResourceNames,
        repo_root: Path,
        key: Any,
        removal: RemovalPolicy,
    ) -> None:
        code = updater_code(self._asset_sources(stage, repo_root))
        environment = updater_environment(
            stage,
            service,
            ledger_table_name=self.ledger.table.table_name,
            outcome_bus_name=self.routing.outcome_bus.event_bus_name,
            failures_queue_url=self.finish.failures.queue_url,
            lane_queue_url=self.lane.queue.queue_url,
            lane_dlq_arn=self.lane.dlq.queue_arn,
            import_rules_path=bundled_import_rules_path(stage),
            rule_queue_arn=self.ingest.rules.queue_arn,
            rule_dlq_arn=self.ingest.rules_dlq.queue_arn,
            trusted_rules=self.to_json_string(
                {rule.rule_arn: role for role, rule in self.routing.rules.items()}
            ),
            audit_bucket=self.audit.bucket.bucket_name,
        )
        grants = SharedGrants(
            datastore_ids=stage.datastore_ids,
            ledger_table_arn=self.ledger.table.table_arn,
            outcome_bus_arn=self.routing.outcome_bus.event_bus_arn,
            failures_queue_arn=self.finish.failures.queue_arn,
            key_arn=key.key_arn,
            audit_records_arn=self.audit.bucket.arn_for_objects(f"{AUDIT_RECORDS_PREFIX}*"),
        )

        def spec(
            role: str, handler: str, description: str, concurrency: int, max_concurrency: int
        ) -> FunctionSpec:
            return FunctionSpec(
                role=role,
                function_name=names.function(role),
                log_group_name=names.log_group(role),
                description=description,
                handler=handler,
                memory_size_mb=stage.memory_size_mb,
                timeout_seconds=stage.timeout_seconds,
                reserved_concurrency=concurrency,
                log_retention_days=stage.log_retention_days,
                batch_size=stage.batch_size,
                max_concurrency=max_concurrency,
            )

        common = {"code": code, "key": key, "removal_policy": removal}

        def environment_of(spec: FunctionSpec) -> dict[str, str]:
            # Its environments split the read budget between them (adapters.read_budget).
            return {**environment, "FUNCTION_CONCURRENCY": str(spec.reserved_concurrency)}

        intake_spec = spec(
            "intake",
            INTAKE_HANDLER,
            "Validates update requests and forwards them to their image set's lane",
            stage.reserved_concurrency,
            stage.max_concurrency,
        )
        self.intake = UpdaterFunction(
            self,
            "Intake",
            spec=intake_spec,
            environment=environment_of(intake_spec),
            statements=intake_statements(
                self,
                grants,
                log_group_name=names.log_group("intake"),
                ingest_queue_arns=[q.queue_arn for q in self.ingest.queues],
                lane_queue_arn=self.lane.queue.queue_arn,
                import_locations=[*stage.import_output_locations, *stage.import_input_locations],
                caller_principals=[caller.principal for caller in stage.callers],
            ),
            queues=self.ingest.queues,
            **common,
        )
        apply_spec = spec(
            "apply",
            APPLY_HANDLER,
            "Applies DICOM metadata updates to image sets exactly once, one step per delivery",
            stage.lane_max_concurrency,
            stage.lane_max_concurrency,
        )
        self.apply = UpdaterFunction(
            self,
            "Apply",
            spec=apply_spec,
            environment=environment_of(apply_spec),
            statements=apply_statements(
                self,
                grants,
                log_group_name=names.log_group("apply"),
                lane_queue_arn=self.lane.queue.queue_arn,
            ),
            queues=[self.lane.queue],
            **common,
        )
        dead_letters = [*self.ingest.dead_letter_queues, self.lane.dlq]
        finalize_spec = spec(
            "finalize",
            FINALIZE_HANDLER,
            "Ends every request SQS gave up on with an explained outcome",
            FINALIZE_CONCURRENCY * len(dead_letters),
            FINALIZE_CONCURRENCY,
        )
        self.finalize = UpdaterFunction(
            self,
            "Finalize",
            spec=finalize_spec,
            environment=environment_of(finalize_spec),
            statements=finalize_statements(
                self,
                grants,
                log_group_name=names.log_group("finalize"),
                dead_letter_queue_arns=[q.queue_arn for q in dead_letters],
            ),
            queues=dead_letters,
            **common,
        )

    @staticmethod
    def _asset_sources(stage: StageConfig, repo_root: Path) -> UpdaterAssetSources:
        return UpdaterAssetSources(
            lambdas_dir=repo_root / "lambdas",
            package_name="updater",
            requirements_file=repo_root / "requirements" / "lambda.txt",
            constraints_file=repo_root / "requirements" / "constraints.txt",
            import_rules_file=stage.import_rules_path(repo_root),
        )
