"""One stack per environment: everything the updater needs, composed from one construct per concern."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Environment, RemovalPolicy, Stack, Tags
from constructs import Construct

from infra.bundling import UpdaterAssetSources, updater_code
from infra.config import REPO_ROOT, ServiceConfig, StageConfig
from infra.events import EventRouting
from infra.function import UpdaterFunction
from infra.ingest import IngestQueues, QueueSettings
from infra.ledger import LedgerTable
from infra.nag import JustifiedResources, suppress_justified_findings
from infra.names import ResourceNames, bundled_import_rules_path, updater_environment
from infra.observability import MonitoredResources, Observability
from infra.permissions import UpdaterGrants
from infra.security import EncryptionKey


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
        key = security.key
        self.ingest = IngestQueues(
            self,
            "Ingest",
            key=key,
            settings=QueueSettings(stage.visibility_timeout_seconds, stage.max_receive_count, removal),
            standard_names=(names.ingest_queue, names.ingest_dlq),
            fifo_names=(names.fifo_ingest_queue, names.fifo_ingest_dlq),
        )
        self.ledger = LedgerTable(
            self, "Ledger", table_name=names.ledger_table, key=key, removal_policy=removal
        )
        self.routing = EventRouting(
            self,
            "Events",
            names=names,
            datastore_ids=stage.datastore_ids,
            ingest_queue=self.ingest.standard,
            key=key,
            removal_policy=removal,
        )
        security.allow_log_group(names.log_group)
        security.allow_cloudwatch_alarms()
        security.allow_eventbridge_delivery()

        self.updater = UpdaterFunction(
            self,
            "Updater",
            stage=stage,
            names=names,
            code=updater_code(self._asset_sources(stage, repo_root)),
            environment=updater_environment(
                stage,
                service,
                ledger_table_name=self.ledger.table.table_name,
                outcome_bus_name=self.routing.outcome_bus.event_bus_name,
                failure_dlq_url=self.ingest.standard_dlq.queue_url,
                ingest_queue_url=self.ingest.standard.queue_url,
                import_rules_path=bundled_import_rules_path(stage),
            ),
            grants=UpdaterGrants(
                datastore_ids=stage.datastore_ids,
                ledger_table_arn=self.ledger.table.table_arn,
                outcome_bus_arn=self.routing.outcome_bus.event_bus_arn,
                ingest_queue_arns=[queue.queue_arn for queue in self.ingest.queues],
                failure_dlq_arn=self.ingest.standard_dlq.queue_arn,
                key_arn=key.key_arn,
                log_group_name=names.log_group,
                import_locations=[*stage.import_output_locations, *stage.import_input_locations],
            ),
            key=key,
            ingest_queues=self.ingest.queues,
            removal_policy=removal,
        )
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
                function=self.updater.function,
                ingest_queues=self.ingest.queues,
                dead_letter_queues=[*self.ingest.dead_letter_queues, *self.routing.dead_letter_queues],
            ),
        )
        self._outputs()
        suppress_justified_findings(
            JustifiedResources(
                updater_policy=self.updater.policy,
                updater_function=self.updater.function,
                rule_target_dlqs=self.routing.dead_letter_queues,
                ledger_table=self.ledger.table,
            )
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

    def _outputs(self) -> None:
        outputs = {
            "IngestQueueUrl": (
                self.ingest.standard.queue_url,
                "Submit update requests here (standard queue)",
            ),
            "IngestFifoQueueUrl": (
                self.ingest.fifo.queue_url,
                "Submit ordered update requests here (MessageGroupId = image set id)",
            ),
            "RequestsBusName": (
                self.routing.requests_bus.event_bus_name,
                "Publish ImageSetMetadataUpdate.Requested events here",
            ),
            "RequestsBusArn": (self.routing.requests_bus.event_bus_arn, "ARN of the requests bus"),
            "OutcomeBusName": (self.routing.outcome_bus.event_bus_name, "Subscribe to update outcomes here"),
            "OutcomeBusArn": (self.routing.outcome_bus.event_bus_arn, "ARN of the outcome bus"),
            "LedgerTableName": (self.ledger.table.table_name, "Ledger and update pacer table"),
            "FailureDlqUrl": (self.ingest.standard_dlq.queue_url, "Failed requests (with their reasons)"),
            "AlarmTopicArn": (self.observability.topic.topic_arn, "Subscribe operators to alarms here"),
            "UpdaterFunctionName": (self.updater.function.function_name, "The updater Lambda"),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
