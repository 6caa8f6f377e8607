"""The updater Lambda, its role and log group, and its event source mappings on the ingest queues."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import StageConfig
from infra.names import HANDLER, ResourceNames
from infra.permissions import UpdaterGrants, updater_policy_statements


class UpdaterFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        names: ResourceNames,
        code: lambda_.Code,
        environment: Mapping[str, str],
        grants: UpdaterGrants,
        key: kms.IKey,
        ingest_queues: Sequence[sqs.IQueue],
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = self._log_group(names, stage, key, removal_policy)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs {names.function}; permissions are in the attached managed policy only",
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Least-privilege permissions of the HealthImaging metadata updater",
            statements=updater_policy_statements(Stack.of(self), grants),
            roles=[role],
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=names.function,
            description="Applies DICOM metadata updates to HealthImaging image sets exactly once",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=code,
            memory_size=stage.memory_size_mb,
            timeout=Duration.seconds(stage.timeout_seconds),
            # Caps the account-wide load on HealthImaging's update quota and keeps headroom for others.
            reserved_concurrent_executions=stage.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            environment=dict(environment),
            environment_encryption=key,
            log_group=self.log_group,
            # CDK's own grants (X-Ray, SQS consume, KMS) would add an inline policy; the managed policy
            # above already holds exactly those permissions.
            role=role.without_policy_updates(),
        )
        # Event source mappings check the role's SQS permissions when they are created.
        self.function.node.add_dependency(self.policy)
        # CDK always adds an explicit DependsOn on the role next to the GetAtt; cfn-lint flags the
        # redundancy (W3005), which is harmless and not ours to remove.
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        for queue in ingest_queues:
            self.function.add_event_source(
                event_sources.SqsEventSource(
                    queue,
                    batch_size=stage.batch_size,
                    max_concurrency=stage.max_concurrency,
                    report_batch_item_failures=True,
                )
            )

    def _log_group(
        self, names: ResourceNames, stage: StageConfig, key: kms.IKey, removal_policy: RemovalPolicy
    ) -> logs.LogGroup:
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=names.log_group,
            encryption_key=key,
            removal_policy=removal_policy,
        )
        # RetentionDays is an enum of names; the config holds the number CloudFormation wants.
        cfn_log_group = log_group.node.default_child
        assert isinstance(cfn_log_group, logs.CfnLogGroup)
        cfn_log_group.retention_in_days = stage.log_retention_days
        return log_group
