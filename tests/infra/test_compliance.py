"""cdk-nag (AWS Solutions + HIPAA) and cfn-lint accept every synthesized template; `cdk synth` works."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match

from infra.config import REPO_ROOT
from tests.infra.synthesis import SynthesizedApp, SynthesizedStage

NAG_PACKS = ("AwsSolutions", "HIPAA.Security")
# Every accepted finding; a new suppression must be added here on purpose (and reviewed).
ACCEPTED_FINDINGS = {
    "AwsSolutions-IAM5",
    "AwsSolutions-L1",
    "AwsSolutions-SQS3",
    "HIPAA.Security-LambdaDLQ",
    "HIPAA.Security-LambdaInsideVPC",
    "HIPAA.Security-DynamoDBInBackupPlan",
    # The audit trail: replication to another Region is the operator's data-residency decision; its
    # access-log bucket must use SSE-S3 and is not itself logged.
    "HIPAA.Security-S3BucketReplicationEnabled",
    "HIPAA.Security-S3DefaultEncryptionKMS",
    "AwsSolutions-S1",
}
CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"


@pytest.mark.parametrize("pack", NAG_PACKS)
def test_no_unsuppressed_nag_errors_or_warnings(stage: SynthesizedStage, pack: str) -> None:
    annotations = Annotations.from_stack(stage.stack)
    rule = Match.string_like_regexp(f"{pack}-.*")

    assert annotations.find_error("*", rule) == []
    assert annotations.find_warning("*", rule) == []


@pytest.mark.parametrize("pack", NAG_PACKS)
def test_nag_report_lists_evaluated_rules_and_nothing_non_compliant(
    synthesized: SynthesizedApp, stage: SynthesizedStage, pack: str
) -> None:
    report = synthesized.outdir / f"{pack}--{stage.stack.stack_name}-NagReport.csv"
    with report.open(newline="") as handle:
        rows = list(csv.DictReader(handle))

    assert len(rows) > 20  # the pack really ran over this stack
    assert {row["Compliance"] for row in rows} <= {"Compliant", "Suppressed", "N/A"}
    assert [row["Rule ID"] for row in rows if row["Compliance"] == "Non-Compliant"] == []


def test_every_suppression_is_expected_and_carries_a_reason(stage: SynthesizedStage) -> None:
    suppressed: set[str] = set()
    for resource in stage.raw["Resources"].values():
        for suppression in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            suppressed.add(suppression["id"])
            assert len(suppression["reason"]) >= 60, suppression["id"]

    assert suppressed == ACCEPTED_FINDINGS


def test_cfn_lint_accepts_every_template(synthesized: SynthesizedApp) -> None:
    templates = [str(stage.template_file) for stage in synthesized.stages.values()]
    cfn_lint = Path(sys.executable).parent / "cfn-lint"

    result = subprocess.run([str(cfn_lint), *templates], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("node") is None or not CDK_CLI.exists(), reason="CDK CLI not installed")
def test_cdk_cli_synthesizes_one_stage_offline(tmp_path: Path) -> None:
    """`npx cdk synth -c stage=... -c bundle=false` goes through cdk.json's app command."""
    result = subprocess.run(
        [str(CDK_CLI), "synth", "-q", "-c", "stage=staging", "-c", "bundle=false", "-o", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CDK_DISABLE_VERSION_CHECK": "true", "CDK_CLI_NOTICES": "false"},
        timeout=240,
    )

    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.glob("*.template.json")] == [
        "healthimaging-metadata-updater-staging.template.json"
    ]
    assert list(tmp_path.glob("asset.*")) == []  # bundle=false: no pip run, the asset is lambdas/ as is
