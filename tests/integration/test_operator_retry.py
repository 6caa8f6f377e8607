"""`python -m updater_ops retry`: a failed request, once its cause is fixed, applied again under a new
derived requestId, its failure record removed, the retry audited; against the local stack (its
state file) and against a deployed stage found by its CloudFormation outputs (moto's server)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.healthimaging.profile import BehaviourProfile, FaultInjection, SettleTime
from local.moto_stack import MotoServer
from local.scenario import import_image_set, outcome_events, submit_and_wait
from local.stack import LocalStack, LocalStackOptions
from updater_ops.__main__ import main
from updater_ops.queue_reading import peek

pytestmark = pytest.mark.integration

SETTLE = SettleTime(median_seconds=0.05, p99_seconds=0.2)
STAGE_STACK = "healthimaging-metadata-updater-dev"  # the dev stage's stack name and region (cdk.json)
STAGE_REGION = "us-west-2"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Path]]:
    options = LocalStackOptions(
        name_prefix=f"ops{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=5,
        function_timeout_s=30,
        emulator_profile=BehaviourProfile(settle=SETTLE),
    )
    with LocalStack(options) as running:
        state_file = tmp_path_factory.mktemp("ops") / "local-stack.json"
        running.write_state(state_file)
        yield running, state_file


def failing_updates(stack: LocalStack, failing: bool) -> None:
    faults = FaultInjection(update_failure_probability=1.0 if failing else 0.0)
    stack.emulator.service.set_profile(BehaviourProfile(settle=SETTLE, faults=faults))


def patient_name_request(stack: LocalStack, image_set_id: str, request_id: str, name: str) -> dict[str, Any]:
    return {
        "datastoreId": stack.datastore_id,
        "imageSetId": image_set_id,
        "requestId": request_id,
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": name}}}
        },
    }


def audit_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line)["audit"] for line in output.splitlines() if line.startswith('{"audit"')]


def failure_records(stack: LocalStack) -> dict[str, str]:
    assert stack.topology is not None
    messages = peek(stack.aws.sqs, stack.topology.queue("failures").url)
    return {m.attributes.get("requestId", ""): m.attributes.get("failureCode", "") for m in messages}


def test_a_fixed_failure_is_applied_again_under_a_new_request_id(
    stack: tuple[LocalStack, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    running, state_file = stack
    image_set = import_image_set(running, "CT_small.dcm")
    failing_updates(running, True)
    failed = submit_and_wait(running, patient_name_request(running, image_set, "ops-fixed", "DOE^JANE"))
    assert (failed["status"], failed["errorCode"]) == ("FAILED", "UPDATE_FAILED")
    assert failure_records(running)["ops-fixed"] == "UPDATE_FAILED"
    failing_updates(running, False)  # the cause is fixed

    assert main(["retry", "--request-id", "ops-fixed", "--state-file", str(state_file)]) == 0
    (audit,) = audit_lines(capsys.readouterr().out)
    assert audit["retry_request_id"] == "ops-fixed~retry-1" and audit["failure_code"] == "UPDATE_FAILED"
    assert audit["actor"].startswith("arn:aws:sts::") and audit["failure_records_removed"] == 1
    running.run_until_idle(60)
    (outcome,) = [
        e["detail"] for e in outcome_events(running) if e["detail"]["requestId"] == "ops-fixed~retry-1"
    ]
    assert outcome["status"] == "SUCCEEDED" and outcome["changed"] == {"Patient": ["PatientName"]}
    assert "ops-fixed" not in failure_records(running)
    assert main(["retry", "--request-id", "ops-fixed", "--state-file", str(state_file)]) == 2  # nothing left


def test_a_retry_that_fails_again_is_retried_as_the_next_number(
    stack: tuple[LocalStack, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    running, state_file = stack
    image_set = import_image_set(running, "CT_small.dcm")
    failing_updates(running, True)
    submit_and_wait(running, patient_name_request(running, image_set, "ops-again", "ROE^RICHARD"))
    assert main(["retry", "--request-id", "ops-again", "--state-file", str(state_file)]) == 0
    running.run_until_idle(60)
    assert failure_records(running).get("ops-again~retry-1") == "UPDATE_FAILED"
    failing_updates(running, False)
    assert main(["retry", "--request-id", "ops-again~retry-1", "--state-file", str(state_file)]) == 0
    running.run_until_idle(60)
    ends = {e["detail"]["requestId"]: e["detail"]["status"] for e in outcome_events(running)}
    assert ends["ops-again~retry-2"] == "SUCCEEDED"
    assert [a["retry_request_id"] for a in audit_lines(capsys.readouterr().out)] == [
        "ops-again~retry-1",
        "ops-again~retry-2",
    ]


def test_a_request_that_failed_for_its_content_is_not_retried_unchanged(
    stack: tuple[LocalStack, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    running, state_file = stack
    body = patient_name_request(running, import_image_set(running, "CT_small.dcm"), "ops-content", "X")
    body["DICOMUpdates"]["updatableAttributes"]["Patient"]["DICOM"] = {"PatientNickname": "X"}
    assert submit_and_wait(running, body)["errorCode"] == "UNKNOWN_KEYWORD"
    assert main(["retry", "--request-id", "ops-content", "--state-file", str(state_file)]) == 2
    assert "UNKNOWN_KEYWORD" in capsys.readouterr().err
    assert failure_records(running)["ops-content"] == "UNKNOWN_KEYWORD"  # left for a corrected request


@pytest.fixture
def deployed_stage(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A stack named and placed as the dev stage's, with the outputs the updater's stack has."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    table = {
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    template = {
        "Resources": {
            "Ingest": {"Type": "AWS::SQS::Queue"},
            "Failures": {"Type": "AWS::SQS::Queue"},
            "Ledger": {"Type": "AWS::DynamoDB::Table", "Properties": table},
        },
        "Outputs": {
            "IngestQueueUrl": {"Value": {"Ref": "Ingest"}},
            "FailuresQueueUrl": {"Value": {"Ref": "Failures"}},
            "LedgerTableName": {"Value": {"Ref": "Ledger"}},
        },
    }
    cloudformation = boto3.client("cloudformation", region_name=STAGE_REGION)
    cloudformation.create_stack(StackName=STAGE_STACK, TemplateBody=json.dumps(template))
    (described,) = cloudformation.describe_stacks(StackName=STAGE_STACK)["Stacks"]
    yield {output["OutputKey"]: output["OutputValue"] for output in described["Outputs"]}
    cloudformation.delete_stack(StackName=STAGE_STACK)


def test_a_deployed_stage_is_found_by_its_stack_outputs(
    deployed_stage: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = boto3.client("sqs", region_name=STAGE_REGION)
    request = {
        "datastoreId": "b" * 32,
        "imageSetId": "e" * 32,
        "requestId": "orders-7",
        "revertToVersionId": "1",
    }
    attributes = {
        name: {"DataType": "String", "StringValue": value}
        for name, value in {
            "requestId": "orders-7",
            "failureCode": "ACCESS_DENIED",
            "failureMessage": "denied",
        }.items()
    }
    sqs.send_message(
        QueueUrl=deployed_stage["FailuresQueueUrl"],
        MessageBody=json.dumps(request),
        MessageAttributes=attributes,
    )

    assert main(["failures", "--stage", "dev"]) == 0
    assert "orders-7  ACCESS_DENIED  denied" in capsys.readouterr().out
    assert main(["retry", "--stage", "dev", "--request-id", "orders-7"]) == 0
    assert audit_lines(capsys.readouterr().out)[0]["deployment"].startswith(f"stage dev ({STAGE_STACK}")
    (sent,) = peek(sqs, deployed_stage["IngestQueueUrl"])
    assert json.loads(sent.body) == {**request, "requestId": "orders-7~retry-1"}
    assert sent.attributes["retryOf"] == "orders-7"
    assert peek(sqs, deployed_stage["FailuresQueueUrl"]) == []


def test_a_stage_without_its_stack_is_one_line_and_exit_2(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)
    assert main(["failures", "--stage", "staging"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["failures", "--stage", "nope"]) == 2
