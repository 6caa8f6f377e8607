"""The stage's callers, made to exist in the local stack.

* The functions' CALLERS setting names principals in the stage's account; locally everything is in
  moto's account, so each principal moves there (same role name), and the local operator joins
  them: moto's default identity, which every local tool (submit, demo, chaos, bench, tests) sends
  with, with every right. In AWS no such caller exists; the stage's own list is all there is.
* Each configured role is created in moto's IAM, so a test can assume it and send as that caller
  (moto's SQS then names the role session as the SenderId, local.moto_provenance).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import boto3

from local.moto_stack import LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION, MOTO_DEFAULT_SENDER_ID

LOCAL_OPERATOR = {
    "name": "local-operator",
    "senderIds": [MOTO_DEFAULT_SENDER_ID],
    # The sources the local tools put requests on the requests bus with.
    "eventSources": ["local.submit", "chaos.soak", "bench.load", "local.tests"],
    "may": ["force", "includeStudyImageSets", "patientLevel", "revert"],
}
TRUST_THIS_ACCOUNT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def local_principal(arn: str) -> str:
    """The same principal in moto's account."""
    parts = arn.split(":")
    return ":".join([*parts[:4], LOCAL_ACCOUNT_ID, *parts[5:]])


def local_callers_setting(stage_setting: str) -> str:
    """The stage's CALLERS with its principals in moto's account, plus the local operator."""
    callers = json.loads(stage_setting) if stage_setting.strip() else []
    for caller in callers:
        caller["principals"] = [local_principal(arn) for arn in caller.get("principals", [])]
    return json.dumps([*callers, LOCAL_OPERATOR], separators=(",", ":"))


def create_caller_roles(iam: Any, setting: str) -> list[str]:
    """Creates every role the (local) setting names in moto's IAM; returns their ARNs."""
    created = []
    for caller in json.loads(setting):
        for arn in caller.get("principals", []):
            kind, _, path_and_name = arn.split(":", 5)[5].partition("/")
            if kind != "role":
                continue
            path, _, name = path_and_name.rpartition("/")
            with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
                iam.create_role(
                    RoleName=name,
                    Path=f"/{path}/" if path else "/",
                    AssumeRolePolicyDocument=TRUST_THIS_ACCOUNT,
                )
            created.append(arn)
    return created


def caller_session(endpoint_url: str, role_arn: str, session_name: str = "local") -> boto3.session.Session:
    """A session with the credentials of `role_arn` assumed through moto's STS."""
    sts = boto3.client("sts", endpoint_url=endpoint_url, region_name=LOCAL_REGION, **LOCAL_CREDENTIALS)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=LOCAL_REGION,
    )
