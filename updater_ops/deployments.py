"""Which updater an operator command talks to: the local stack, or a deployed stage.

* local (the default): the state file `python -m local.stack` writes, whose endpoints are moto's;
* `--stage <name>`: the CloudFormation stack `<service>-<stage>` (names and region from cdk.json,
  plus cdk.context.local.json), its outputs read with DescribeStacks, the caller's credentials;
* `--ingest-queue-url`, `--failures-queue-url`, `--ledger-table`: given outright (no DescribeStacks).

boto3 finds credentials, region and endpoints the usual way, so `AWS_PROFILE` and `AWS_ENDPOINT_URL`
work as for the AWS CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_STATE_FILE = REPO_ROOT / "build" / "local-stack.json"
LOCAL_REGION = "us-east-1"
LOCAL_KEY = "testing"  # moto accepts any credentials; real ones must never reach it
OUTPUTS = {
    "ingest_queue_url": "IngestQueueUrl",
    "failures_queue_url": "FailuresQueueUrl",
    "ledger_table": "LedgerTableName",
}


class OperatorError(Exception):
    """Something the operator can fix (a missing stack, a wrong id); the message says what."""


@dataclass(frozen=True)
class Deployment:
    """One updater's queues and ledger, and the clients that reach them."""

    description: str  # "local stack (build/local-stack.json)", "stage prod (healthimaging-...-prod)"
    ingest_queue_url: str
    failures_queue_url: str
    ledger_table: str
    sqs: Any
    dynamodb: Any
    sts: Any


def local_deployment(state_file: Path = LOCAL_STATE_FILE) -> Deployment:
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        endpoint = state["moto_endpoint_url"]
        queues = state["topology"]["queues"]
        urls = queues["ingest"]["url"], queues["failures"]["url"]
        table = state["topology"]["table_name"]
    except FileNotFoundError:
        raise OperatorError(
            f"no running local stack: {state_file} is missing (python -m local.stack)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise OperatorError(f"{state_file} is not a state file of python -m local.stack") from None
    session = boto3.session.Session(
        region_name=LOCAL_REGION, aws_access_key_id=LOCAL_KEY, aws_secret_access_key=LOCAL_KEY
    )
    return Deployment(
        description=f"local stack ({state_file})",
        ingest_queue_url=urls[0],
        failures_queue_url=urls[1],
        ledger_table=table,
        sqs=session.client("sqs", endpoint_url=endpoint),
        dynamodb=session.client("dynamodb", endpoint_url=endpoint),
        sts=session.client("sts", endpoint_url=endpoint),
    )


def stage_deployment(
    stage: str,
    *,
    region: str | None = None,
    stack_name: str | None = None,
    overrides: dict[str, str | None] | None = None,
) -> Deployment:
    """A deployed stage: the stack's outputs, unless every one of them is given in `overrides`."""
    configured_region, configured_stack = _stage_settings(stage)
    session = boto3.session.Session(region_name=region or configured_region)
    given = {key: value for key, value in (overrides or {}).items() if value}
    name = stack_name or configured_stack
    found = given if set(given) >= set(OUTPUTS) else {**_stack_outputs(session, name), **given}
    return Deployment(
        description=f"stage {stage} ({name}, {session.region_name})",
        ingest_queue_url=str(found["ingest_queue_url"]),
        failures_queue_url=str(found["failures_queue_url"]),
        ledger_table=str(found["ledger_table"]),
        sqs=session.client("sqs"),
        dynamodb=session.client("dynamodb"),
        sts=session.client("sts"),
    )


def _stage_settings(stage: str) -> tuple[str | None, str]:
    """The stage's region and stack name from cdk.json, or (None, the default name) outside the repo."""
    try:
        from infra.config import ConfigError, load_app_config  # noqa: PLC0415
    except ImportError:
        return None, f"healthimaging-metadata-updater-{stage}"
    try:
        config = load_app_config()
        stage_config = config.stage(stage)
    except ConfigError as error:
        raise OperatorError(" ".join(str(error).split())) from None
    return stage_config.region, f"{config.service.name}-{stage}"


def _stack_outputs(session: Any, stack_name: str) -> dict[str, str]:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        (stack,) = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise OperatorError(f"cannot read stack {stack_name}: {error}") from None
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    missing = [key for key in OUTPUTS.values() if key not in outputs]
    if missing:
        raise OperatorError(f"stack {stack_name} has no output {', '.join(missing)}")
    return {field: outputs[key] for field, key in OUTPUTS.items()}
