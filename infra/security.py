"""The stage's customer managed KMS key, and which AWS services may use it.

One key encrypts every place an update request (and so DICOM values, i.e. PHI) can rest: the
queues and DLQs, the ledger table, the log group, the alarm topic and the function's environment.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# In a key policy, "Resource": "*" means "this key"; it is the only form KMS accepts there.
THIS_KEY = "*"


class EncryptionKey(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, alias: str, removal_policy: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description="Encrypts the HealthImaging metadata updater's queues, ledger, logs and alarms",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )

    def allow_log_groups(self, log_group_names: Sequence[str]) -> None:
        """CloudWatch Logs encrypts with the key only for these log groups (encryption context)."""
        stack = Stack.of(self)
        log_group_arns = [
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for name in log_group_names
        ]
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForTheUpdaterLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=[THIS_KEY],
                conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}},
            )
        )

    def allow_cloudwatch_alarms(self) -> None:
        """Alarm actions publish to the encrypted SNS topic as the CloudWatch service.

        No source condition: AWS's documented key policy for alarm actions has none, and a wrong
        one silently drops alarm notifications.
        """
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToTheEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=[THIS_KEY],
            )
        )

    def allow_eventbridge_delivery(self) -> None:
        """EventBridge delivers rule matches (and target DLQ entries) into the encrypted queues."""
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeToDeliverToTheEncryptedQueues",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[THIS_KEY],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
