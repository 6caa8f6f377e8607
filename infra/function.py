"""One of the updater's three functions: its role, managed policy, log group and event sources.

The three share one code asset and one environment; each gets only its own permissions, and each
is invoked only by its SQS event source mappings (never directly, never asynchronously).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.ingest import ROLE_TAG


@dataclass(frozen=True)
class FunctionSpec:
    role: str  # intake | apply | finalize
    function_name: str
    log_group_name: str
    description: str
    handler: str
    memory_size_mb: int
    timeout_seconds: int
    reserved_concurrency: int
    log_retention_days: int
    batch_size: int
    max_concurrency: int  # per event source mapping


class UpdaterFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        code: lambda_.Code,
        environment: Mapping[str, str],
        statements: Sequence[iam.PolicyStatement],
        key: kms.IKey,
        queues: Sequence[sqs.IQueue],
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.log_group = self._log_group(spec, key, removal_policy)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs {spec.function_name}; permissions are in the attached managed policy only",
        )
        self.role = role
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"Least-privilege permissions of the updater's {spec.role} function",
            statements=list(statements),
            roles=[role],
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=spec.function_name,
            description=spec.description,
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler=spec.handler,
            code=code,
            memory_size=spec.memory_size_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            reserved_concurrent_executions=spec.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            environment=dict(environment),
            environment_encryption=key,
            log_group=self.log_group,
            # CDK's own grants (X-Ray, SQS consume, KMS) would add an inline policy; the managed policy
            # above already holds exactly those permissions.
            role=role.without_policy_updates(),
        )
        Tags.of(self.function).add(ROLE_TAG, spec.role)
        # Event source mappings check the role's SQS permissions when they are created.
        self.function.node.add_dependency(self.policy)
        # CDK always adds an explicit DependsOn on the role next to the GetAtt; cfn-lint flags the
        # redundancy (W3005), which is harmless and not ours to remove.
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        for queue in queues:
            self.function.add_event_source(
                event_sources.SqsEventSource(
                    queue,
                    batch_size=spec.batch_size,
                    max_concurrency=spec.max_concurrency,
                    report_batch_item_failures=True,
                )
            )

    def _log_group(self, spec: FunctionSpec, key: kms.IKey, removal_policy: RemovalPolicy) -> logs.LogGroup:
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=spec.log_group_name,
            encryption_key=key,
            removal_policy=removal_policy,
        )
        # RetentionDays is an enum of names; the config holds the number CloudFormation wants.
        cfn_log_group = log_group.node.default_child
        assert isinstance(cfn_log_group, logs.CfnLogGroup)
        cfn_log_group.retention_in_days = spec.log_retention_days
        return log_group
