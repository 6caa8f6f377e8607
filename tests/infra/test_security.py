"""Least privilege, TLS-only queues and no secrets or PHI in any synthesized template."""

from __future__ import annotations

import json
import re
from typing import Any

from infra.config import REPO_ROOT
from tests.infra.synthesis import SynthesizedApp, SynthesizedStage
from tests.infra.template_queries import as_list, policy_documents, statements

XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SECRET_PATTERNS = (
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"(?i)secret.?access.?key"),
    re.compile(r"(?i)password"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
)


def function_of(stage: SynthesizedStage, role: str) -> tuple[str, dict[str, Any]]:
    """The function tagged with its role (intake, apply, finalize)."""
    (found,) = [
        (logical_id, function)
        for logical_id, function in stage.resources_of_type("AWS::Lambda::Function").items()
        if {"Key": "updater:role", "Value": role} in function["Properties"].get("Tags", [])
    ]
    return found


def policy_of(stage: SynthesizedStage, role: str) -> list[dict[str, Any]]:
    _, function = function_of(stage, role)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        p
        for p in stage.resources_of_type("AWS::IAM::ManagedPolicy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    return statements(policy["Properties"]["PolicyDocument"])


def identity_statements(stage: SynthesizedStage) -> list[dict[str, Any]]:
    found = []
    for logical_id, document in policy_documents(stage.raw):
        if stage.raw["Resources"][logical_id]["Type"].startswith("AWS::IAM::"):
            found += statements(document)
    return found


def actions_of(policy: list[dict[str, Any]], service: str) -> set[str]:
    return {a for s in policy for a in as_list(s["Action"]) if a.startswith(f"{service}:")}


def queue_targets(stage: SynthesizedStage, policy: list[dict[str, Any]], action: str) -> set[str]:
    names = {k: v["Properties"]["QueueName"] for k, v in stage.resources_of_type("AWS::SQS::Queue").items()}
    return {
        names[r["Fn::GetAtt"][0]]
        for s in policy
        if action in as_list(s["Action"])
        for r in as_list(s["Resource"])
    }


def test_each_function_role_has_only_its_own_customer_managed_policy(stage: SynthesizedStage) -> None:
    functions = stage.resources_of_type("AWS::Lambda::Function")
    function_roles = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}
    roles = {k: v for k, v in stage.resources_of_type("AWS::IAM::Role").items() if k in function_roles}
    policies = {
        k: v
        for k, v in stage.resources_of_type("AWS::IAM::ManagedPolicy").items()
        if v["Properties"]["Roles"][0]["Ref"] in function_roles
    }

    assert len(roles) == len(policies) == len(functions) == 3
    assert stage.resources_of_type("AWS::IAM::Policy") == {}  # no inline policies (HIPAA)
    for role_id, role in roles.items():
        assert "Policies" not in role["Properties"]
        assert "ManagedPolicyArns" not in role["Properties"]  # no AWS managed policies either
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "lambda.amazonaws.com"
        }
        (policy_id,) = [k for k, p in policies.items() if p["Properties"]["Roles"] == [{"Ref": role_id}]]
        (function,) = [f for f in functions.values() if f["Properties"]["Role"]["Fn::GetAtt"][0] == role_id]
        assert policy_id in function["DependsOn"]


def test_only_the_apply_function_may_update_an_image_set(stage: SynthesizedStage) -> None:
    assert actions_of(policy_of(stage, "apply"), "medical-imaging") == {
        "medical-imaging:GetImageSet",
        "medical-imaging:GetImageSetMetadata",
        "medical-imaging:UpdateImageSetMetadata",
    }
    # Intake reads what imports made and resolves selectors (SearchImageSets); it never updates.
    assert actions_of(policy_of(stage, "intake"), "medical-imaging") == {
        "medical-imaging:GetImageSetMetadata",
        "medical-imaging:SearchImageSets",
    }
    assert actions_of(policy_of(stage, "finalize"), "medical-imaging") == {
        "medical-imaging:GetImageSet",
        "medical-imaging:GetImageSetMetadata",
    }


def test_healthimaging_access_is_limited_to_the_configured_datastores(stage: SynthesizedStage) -> None:
    config = stage.config
    prefix = f"arn:aws:medical-imaging:{config.region}:{config.account}:datastore"
    expected = {f"{prefix}/{ds}" for ds in config.datastore_ids}
    expected |= {f"{prefix}/{ds}/imageset/*" for ds in config.datastore_ids}
    for role in ("intake", "apply", "finalize"):
        granting = [
            s for s in policy_of(stage, role) if any("medical-imaging" in a for a in as_list(s["Action"]))
        ]
        assert len(granting) == 1
        assert set(as_list(granting[0]["Resource"])) == expected


def test_each_function_consumes_only_its_own_queues_and_sends_only_where_it_must(
    stage: SynthesizedStage,
) -> None:
    names = stage.names
    ingest = {names.ingest_queue, names.fifo_ingest_queue, names.rule_queue}
    dead_letters = {names.ingest_dlq, names.fifo_ingest_dlq, names.rule_dlq, names.lane_dlq}
    expected = {
        "intake": (ingest, {names.lane_queue, names.failures_queue}),
        "apply": ({names.lane_queue}, {names.failures_queue}),
        "finalize": (dead_letters, {names.failures_queue}),
    }
    for role, (consumed, sent) in expected.items():
        policy = policy_of(stage, role)
        assert queue_targets(stage, policy, "sqs:ReceiveMessage") == consumed, role
        assert queue_targets(stage, policy, "sqs:SendMessage") == sent, role


def test_only_intake_reads_import_output_and_every_function_only_puts_audit_records(
    stage: SynthesizedStage,
) -> None:
    assert actions_of(policy_of(stage, "apply"), "s3") == {"s3:PutObject"}
    assert actions_of(policy_of(stage, "finalize"), "s3") == {"s3:PutObject"}
    assert actions_of(policy_of(stage, "intake"), "s3") == {"s3:GetObject", "s3:ListBucket", "s3:PutObject"}
    for role in ("intake", "apply", "finalize"):
        (put,) = [s for s in policy_of(stage, role) if s["Action"] == "s3:PutObject"]
        (target,) = as_list(put["Resource"])
        assert target["Fn::Join"][1][0]["Fn::GetAtt"][0].startswith("AuditRecords")
        assert target["Fn::Join"][1][1] == "/records/*"


def test_star_resources_only_where_aws_requires_them(stage: SynthesizedStage) -> None:
    # X-Ray's trace APIs support no resource-level permissions; in key policies "*" means "this key"
    # (those are KeyPolicy documents, not identity policies, and are checked separately below).
    star_statements = [s for s in identity_statements(stage) if "*" in as_list(s["Resource"])]

    assert [set(as_list(s["Action"])) for s in star_statements] == [XRAY_ACTIONS] * 3  # one per function


def test_no_wildcard_actions_are_granted(stage: SynthesizedStage) -> None:
    for statement in identity_statements(stage):
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), action


def test_s3_reads_only_the_configured_import_prefixes(stage: SynthesizedStage) -> None:
    locations = [*stage.config.import_output_locations, *stage.config.import_input_locations]
    allowed_objects = {f"arn:aws:s3:::{loc.bucket}/{loc.prefix}*" for loc in locations}
    s3_statements = [
        s
        for s in policy_of(stage, "intake")
        if str(s["Action"]).startswith(("s3:", "['s3:")) and s["Action"] != "s3:PutObject"
    ]

    object_resources = {
        r for s in s3_statements if s["Action"] == "s3:GetObject" for r in as_list(s["Resource"])
    }
    assert object_resources == allowed_objects
    for statement in (s for s in s3_statements if s["Action"] == "s3:ListBucket"):
        bucket = statement["Resource"].removeprefix("arn:aws:s3:::")
        prefixes = {f"{loc.prefix}*" for loc in locations if loc.bucket == bucket}
        assert set(as_list(statement["Condition"]["StringLike"]["s3:prefix"])) == prefixes
    assert {s["Action"] for s in s3_statements} == {"s3:GetObject", "s3:ListBucket"}


def test_every_queue_and_topic_denies_requests_without_tls(stage: SynthesizedStage) -> None:
    protected: set[str] = set()
    for resource in [
        *stage.resources_of_type("AWS::SQS::QueuePolicy").values(),
        *stage.resources_of_type("AWS::SNS::TopicPolicy").values(),
    ]:
        properties = resource["Properties"]
        denies_plain_http = any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements(properties["PolicyDocument"])
        )
        if denies_plain_http:
            protected |= {ref["Ref"] for ref in properties.get("Queues", properties.get("Topics", []))}

    assert protected == set(stage.resources_of_type("AWS::SQS::Queue")) | set(
        stage.resources_of_type("AWS::SNS::Topic")
    )


def test_service_principals_are_scoped_to_this_account_or_rule(stage: SynthesizedStage) -> None:
    # Guards against the confused deputy: EventBridge may deliver into our queues only for our rules.
    for resource in stage.resources_of_type("AWS::SQS::QueuePolicy").values():
        for statement in statements(resource["Properties"]["PolicyDocument"]):
            if statement["Effect"] == "Allow" and "Service" in statement["Principal"]:
                condition = json.dumps(statement.get("Condition", {}))
                assert "aws:SourceAccount" in condition or "aws:SourceArn" in condition


def test_key_policy_lets_logs_use_the_key_only_for_the_functions_log_groups(stage: SynthesizedStage) -> None:
    (key,) = stage.resources_of_type("AWS::KMS::Key").values()
    logs_statements = [
        s
        for s in statements(key["Properties"]["KeyPolicy"])
        if str(s["Principal"].get("Service", "")).startswith("logs.")
    ]

    assert len(logs_statements) == 1
    arns = logs_statements[0]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert sorted(arn.rsplit(":log-group:", 1)[1] for arn in arns) == sorted(
        stage.names.log_group(role) for role in ("apply", "finalize", "intake")
    )


def test_templates_hold_no_secrets(stage: SynthesizedStage) -> None:
    text = stage.template_file.read_text()

    assert [p.pattern for p in SECRET_PATTERNS if p.search(text)] == []


def rule_values(document: Any) -> list[str]:
    """The attribute values in a rules document (not ids, keywords or descriptions)."""
    values: list[str] = []

    def collect(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for child_key, child in node.items():
                collect(child, child_key)
        elif isinstance(node, list):
            for child in node:
                collect(child, key)
        elif isinstance(node, str) and key not in ("id", "type", "keyword", "level", "description"):
            values.append(node)

    collect(document)
    return [value for value in values if len(value) > 4]


def test_import_rule_values_stay_out_of_the_template(synthesized: SynthesizedApp) -> None:
    """Rules carry DICOM values; they travel in the Lambda asset, never in CloudFormation."""
    with_rules = [s for s in synthesized.stages.values() if s.config.import_rules_file]
    assert with_rules, "cdk.json should configure a rules file for at least one stage"
    for stage in with_rules:
        rules_file = stage.config.import_rules_path(REPO_ROOT)
        assert rules_file is not None
        values = rule_values(json.loads(rules_file.read_text()))
        text = stage.template_file.read_text()

        assert values, f"{rules_file} should carry attribute values to look for"
        assert [value for value in values if value in text] == []
