"""Who may send, and the audit trail nobody can rewrite, as the synthesized templates say it."""

from __future__ import annotations

from typing import Any

from tests.infra.synthesis import SynthesizedStage
from tests.infra.template_queries import as_list, statements
from tests.infra.test_security import policy_of
from tests.infra.test_stack_resources import arn_of, queue_id
from updater.domain.callers import Right, parse_policies


def _queue_policy(stage: SynthesizedStage, queue_name: str) -> list[dict[str, Any]]:
    logical_id = queue_id(stage, queue_name)
    (policy,) = [
        p
        for p in stage.resources_of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": logical_id} in p["Properties"]["Queues"]
    ]
    return statements(policy["Properties"]["PolicyDocument"])


def _sends(statement: dict[str, Any]) -> bool:
    return "sqs:SendMessage" in as_list(statement["Action"])


def test_caller_queues_admit_the_configured_principals_and_deny_everyone_else(
    stage: SynthesizedStage,
) -> None:
    principals = sorted({caller.principal for caller in stage.config.callers})
    assert principals  # every stage lists its callers
    for queue in (stage.names.ingest_queue, stage.names.fifo_ingest_queue):
        sending = [s for s in _queue_policy(stage, queue) if _sends(s)]
        (allow,) = [s for s in sending if s["Effect"] == "Allow"]
        (deny,) = [s for s in sending if s["Effect"] == "Deny"]
        assert sorted(as_list(allow["Principal"]["AWS"])) == principals
        assert deny["Principal"] == {"AWS": "*"}
        assert sorted(deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]) == principals


def test_the_stage_key_lets_exactly_the_callers_encrypt_through_sqs(stage: SynthesizedStage) -> None:
    principals = sorted({caller.principal for caller in stage.config.callers})
    (key,) = stage.resources_of_type("AWS::KMS::Key").values()
    (grant,) = [
        s for s in statements(key["Properties"]["KeyPolicy"]) if s.get("Sid") == "CallersSendThroughSqs"
    ]
    assert sorted(as_list(grant["Principal"]["AWS"])) == principals
    assert sorted(as_list(grant["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert set(grant["Condition"]["StringEquals"]) == {"kms:ViaService"}


def test_the_rules_queue_admits_only_the_stages_own_rules(stage: SynthesizedStage) -> None:
    rules = stage.resources_of_type("AWS::Events::Rule")
    sending = [s for s in _queue_policy(stage, stage.names.rule_queue) if _sends(s)]
    (deny,) = [s for s in sending if s["Effect"] == "Deny"]
    assert deny["Principal"] == {"AWS": "*"}
    assert sorted(str(a) for a in deny["Condition"]["ArnNotEquals"]["aws:SourceArn"]) == sorted(
        str(arn_of(rule_id)) for rule_id in rules
    )
    allows = [s for s in sending if s["Effect"] == "Allow"]
    assert allows and all(s["Principal"] == {"Service": "events.amazonaws.com"} for s in allows)
    # ...and every rule delivers there, stamped with its own ARN.
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == arn_of(queue_id(stage, stage.names.rule_queue))
        assert '"deliveredBy":"<aws.events.rule-arn>"' in target["InputTransformer"]["InputTemplate"]


def test_each_requests_bus_source_belongs_to_its_callers_principal_and_no_other_source_is_admitted(
    stage: SynthesizedStage,
) -> None:
    policies = [
        p["Properties"]["Statement"] for p in stage.resources_of_type("AWS::Events::EventBusPolicy").values()
    ]
    by_source = {c.event_source: c.principal for c in stage.config.callers if c.event_source}
    assert by_source
    for source, principal in by_source.items():
        (allow,) = [
            s
            for s in policies
            if s["Effect"] == "Allow" and s["Condition"]["StringEquals"]["events:source"] == source
        ]
        assert allow["Principal"] == {"AWS": principal}
        (deny,) = [
            s
            for s in policies
            if s["Effect"] == "Deny"
            and s.get("Condition", {}).get("StringEquals", {}).get("events:source") == source
        ]
        assert deny["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": principal}
    (unlisted,) = [s for s in policies if "StringNotEquals" in s.get("Condition", {})]
    assert unlisted["Effect"] == "Deny"
    assert sorted(unlisted["Condition"]["StringNotEquals"]["events:source"]) == sorted(by_source)


def test_the_functions_recognise_exactly_the_configured_callers(stage: SynthesizedStage) -> None:
    (environment, *_) = [
        f["Properties"]["Environment"]["Variables"]
        for f in stage.resources_of_type("AWS::Lambda::Function").values()
    ]
    policies = {p.name: p for p in parse_policies(environment["CALLERS"])}
    assert set(policies) == {c.name for c in stage.config.callers}
    for caller in stage.config.callers:
        policy = policies[caller.name]
        assert policy.principals == (caller.principal,)
        assert policy.event_sources == ((caller.event_source,) if caller.event_source else ())
        assert {str(r) for r in policy.may} == set(caller.may.names())
    assert {Right(r) for r in environment["IMPORT_CALLER_RIGHTS"].split(",") if r} <= set(Right)


def test_intake_may_look_up_only_the_callers_in_its_own_account(stage: SynthesizedStage) -> None:
    (lookup,) = [s for s in policy_of(stage, "intake") if s.get("Sid") == "RecogniseCallers"]
    assert set(as_list(lookup["Action"])) == {"iam:GetRole", "iam:GetUser"}
    own = {c.principal for c in stage.config.callers if c.account == stage.config.account}
    assert set(as_list(lookup["Resource"])) == own


def _audit_bucket(stage: SynthesizedStage) -> tuple[str, dict[str, Any]]:
    buckets = stage.resources_of_type("AWS::S3::Bucket")
    (found,) = [
        (k, v)
        for k, v in buckets.items()
        if v["Properties"].get("BucketName") == stage.names.audit_bucket(stage.config.account)
    ]
    return found


def test_audit_records_are_locked_in_compliance_mode_encrypted_with_the_stage_key_and_retained(
    stage: SynthesizedStage,
) -> None:
    _, bucket = _audit_bucket(stage)
    properties = bucket["Properties"]
    assert properties["ObjectLockEnabled"] is True
    assert properties["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": stage.config.audit.retention_days}},
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (key_id,) = stage.resources_of_type("AWS::KMS::Key")
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": arn_of(key_id),
    }
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    assert "LoggingConfiguration" in properties


def test_no_function_may_delete_or_read_audit_records_and_the_bucket_denies_it_to_everyone(
    stage: SynthesizedStage,
) -> None:
    for role in ("intake", "apply", "finalize"):
        actions = {a for s in policy_of(stage, role) for a in as_list(s["Action"]) if a.startswith("s3:")}
        assert not any(a.startswith(("s3:Delete", "s3:PutObjectRetention", "s3:Bypass")) for a in actions), (
            role
        )
        assert "s3:PutObject" in actions
    bucket_id, _ = _audit_bucket(stage)
    (policy,) = [
        p
        for p in stage.resources_of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    denies = [s for s in statements(policy["Properties"]["PolicyDocument"]) if s["Effect"] == "Deny"]
    (rewrite,) = [s for s in denies if s.get("Sid") == "NoOneRewritesTheTrail"]
    assert rewrite["Principal"] == {"AWS": "*"} and "Condition" not in rewrite
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention"} <= set(rewrite["Action"])
    (reads,) = [s for s in denies if s.get("Sid") == "OnlyAuditorsRead"]
    auditor = reads["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert auditor["Fn::GetAtt"][0].startswith("AuditAuditorRole")


def test_the_auditor_role_only_reads_the_records_and_decrypts_them(stage: SynthesizedStage) -> None:
    roles = stage.resources_of_type("AWS::IAM::Role")
    (auditor_id,) = [
        k for k, v in roles.items() if v["Properties"].get("RoleName") == stage.names.auditor_role
    ]
    (policy,) = [
        p
        for p in stage.resources_of_type("AWS::IAM::ManagedPolicy").values()
        if p["Properties"]["Roles"] == [{"Ref": auditor_id}]
    ]
    actions = {a for s in statements(policy["Properties"]["PolicyDocument"]) for a in as_list(s["Action"])}
    assert actions == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetObjectRetention",
        "s3:ListBucket",
        "kms:Decrypt",
    }
    trust = roles[auditor_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    if not stage.config.audit.auditors:  # the account's principals, and only with MFA
        assert all(s["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}} for s in trust)


def test_patient_level_corrections_are_a_right_of_their_own_and_the_fan_out_limit_is_the_stages(
    stage: SynthesizedStage,
) -> None:
    """Selectors, merges and HL7 ADT need patientLevel: granted in cdk.json per caller, never to
    the import rules; every function gets the stage's maxFanOut."""
    environments = [
        f["Properties"]["Environment"]["Variables"]
        for f in stage.resources_of_type("AWS::Lambda::Function").values()
    ]
    policies = {p.name: p for p in parse_policies(environments[0]["CALLERS"])}
    patient_level = {name for name, p in policies.items() if Right.PATIENT_LEVEL in p.may}
    assert patient_level == {c.name for c in stage.config.callers if c.may.patient_level}
    assert patient_level and patient_level != set(policies)  # granted to some callers, not to all
    assert "patientLevel" not in environments[0]["IMPORT_CALLER_RIGHTS"].split(",")
    assert {e["MAX_FAN_OUT"] for e in environments} == {str(stage.config.max_fan_out)}
