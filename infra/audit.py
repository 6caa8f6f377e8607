"""The audit trail: an S3 bucket nobody can rewrite, readable only by the stage's auditor role.

* Object Lock in compliance mode with a default retention from config: no one, the account's root
  included, can delete or overwrite a record version before its retention ends. Six years by
  default: HIPAA keeps required documentation that long (45 CFR 164.316(b)(2)).
* Encrypted with the stage key (SSE-KMS, bucket key on); TLS only; public access blocked.
* The bucket policy denies deleting objects or changing retention to everyone, and reading to
  everyone but the auditor role; the updater's functions may only put (permissions.py).
* Server access logs go to a bucket of their own: who read the trail is itself a record.
* Always retained: a stack deletion must not take the trail with it (and could not: locked
  objects outlive the bucket's stack).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.audit_config import AuditConfig

AUDIT_RECORDS_PREFIX = "records/"
# What no one may do to the trail (compliance mode refuses deleting a locked version anyway: the
# policy says so for every version, locked or not). Lifecycle and lock configuration stay open to
# the stack itself: a longer retention or a cheaper storage class is a later deployment's change.
NEVER = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:BypassGovernanceRetention")
AUDITOR_READ = ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention", "s3:ListBucket")


class AuditTrail(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        access_logs_bucket_name: str,
        auditor_role_name: str,
        key: kms.IKey,
        config: AuditConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=access_logs_bucket_name,
            # S3 server access logging delivers only to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "Records",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(
                Duration.days(config.retention_days)
            ),
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="records/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.auditor = iam.Role(
            self,
            "AuditorRole",
            role_name=auditor_role_name,
            description="Reads the HealthImaging metadata updater's audit trail (and nothing else)",
            assumed_by=self._auditors(config.auditors),
            max_session_duration=Duration.hours(1),
        )
        # A managed policy (HIPAA checks reject inline ones), reviewable on its own.
        self.auditor_policy = iam.ManagedPolicy(
            self,
            "AuditorPolicy",
            description="Read the audit trail's records and decrypt them; nothing else",
            roles=[self.auditor],
            statements=[
                iam.PolicyStatement(
                    sid="ReadTheAuditTrail",
                    actions=list(AUDITOR_READ),
                    resources=[
                        self.bucket.bucket_arn,
                        self.bucket.arn_for_objects(f"{AUDIT_RECORDS_PREFIX}*"),
                    ],
                ),
                iam.PolicyStatement(
                    sid="DecryptTheRecords", actions=["kms:Decrypt"], resources=[key.key_arn]
                ),
            ],
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="NoOneRewritesTheTrail",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(NEVER),
                resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyAuditorsRead",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": self.auditor.role_arn}},
            )
        )

    @staticmethod
    def _auditors(auditors: Sequence[str]) -> iam.IPrincipal:
        if auditors:
            return iam.CompositePrincipal(*(iam.ArnPrincipal(arn) for arn in auditors))
        return iam.AccountRootPrincipal().with_conditions({"Bool": {"aws:MultiFactorAuthPresent": "true"}})
