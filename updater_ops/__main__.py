"""`python -m updater_ops`: operator commands for a running updater, the local stack or a deployed stage.

    python -m updater_ops failures                          # the failures queue: requestId, code, message
    python -m updater_ops retry --request-id ID             # send a failed request again, as ID~retry-<n>
    python -m updater_ops retry --request-id ID --stage prod          # a deployed stage (its stack outputs)

Without --stage the command talks to the stack `python -m local.stack` runs (its state file).
With --stage it reads the stack `<service>-<stage>`'s outputs (CloudFormation DescribeStacks, the
stage's region from cdk.json) with your AWS credentials; --ingest-queue-url, --failures-queue-url
and --ledger-table give them outright. Reading the failures queue never consumes it. A retry sends
the request from its failure record under a new requestId (the old one ended: sending it again only
replays its FAILED outcome), removes that record, and prints an audit line (who, when, what).
Exit code: 0 done, 1 AWS refused a call, 2 a usage error (the message says what).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from updater_ops.deployments import (
    LOCAL_STATE_FILE,
    Deployment,
    OperatorError,
    local_deployment,
    stage_deployment,
)
from updater_ops.operator_audit import PrintedAudit

USAGE_ERROR = 2
AWS_REFUSED = 1


def argument_parser() -> argparse.ArgumentParser:
    title, _, rest = (__doc__ or "").partition("\n\n")
    parser = argparse.ArgumentParser(
        prog="python -m updater_ops",
        description=title.split(": ", 1)[1].capitalize(),
        epilog=rest,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{failures,retry}")
    failures = commands.add_parser("failures", help="list the failures queue (nothing consumed)")
    retry = commands.add_parser("retry", help="send a failed request again under a new requestId")
    retry.add_argument("--request-id", required=True, help="the failed request's requestId")
    retry.add_argument("--keep-record", action="store_true", help="leave its failure record on the queue")
    retry.add_argument(
        "--even-if-content-failed",
        action="store_true",
        help="retry a request that failed for its own content (it fails again unless the image set changed)",
    )
    retry.add_argument(
        "--unpin",
        action="store_true",
        help="drop its expectedVersionId/latestVersionId: apply on the current version (VERSION_CONFLICT)",
    )
    for command in (failures, retry):
        target = command.add_argument_group("which updater (default: the local stack)")
        target.add_argument(
            "--state-file", type=Path, default=LOCAL_STATE_FILE, help="the local stack's state"
        )
        target.add_argument("--stage", help="a deployed stage of cdk.json (e.g. prod)")
        target.add_argument("--region", help="default: the stage's region in cdk.json")
        target.add_argument("--stack-name", help="default: <service>-<stage>")
        target.add_argument("--ingest-queue-url", help="default: the stack output IngestQueueUrl")
        target.add_argument("--failures-queue-url", help="default: the stack output FailuresQueueUrl")
        target.add_argument("--ledger-table", help="default: the stack output LedgerTableName")
    return parser


def deployment_of(arguments: argparse.Namespace) -> Deployment:
    overrides = {
        "ingest_queue_url": arguments.ingest_queue_url,
        "failures_queue_url": arguments.failures_queue_url,
        "ledger_table": arguments.ledger_table,
    }
    if arguments.stage is None:
        if any(overrides.values()) or arguments.region or arguments.stack_name:
            raise OperatorError("--region, --stack-name and the queue and table flags need --stage")
        return local_deployment(arguments.state_file)
    return stage_deployment(
        arguments.stage, region=arguments.region, stack_name=arguments.stack_name, overrides=overrides
    )


def list_failures(deployment: Deployment) -> int:
    from updater_ops.queue_reading import peek  # noqa: PLC0415

    records = peek(deployment.sqs, deployment.failures_queue_url)
    print(f"{deployment.description}: {len(records)} failure record(s)")
    for record in records:
        sent = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.sent_at_ms / 1000))
        attributes = record.attributes
        print(
            f"{sent}  {attributes.get('requestId', '-')}  {attributes.get('failureCode', '?')}  "
            f"{attributes.get('failureMessage', '')}"
        )
    return 0


def retry(deployment: Deployment, arguments: argparse.Namespace) -> int:
    from updater_ops.retry import retry_failed_request  # noqa: PLC0415

    result = retry_failed_request(
        deployment,
        arguments.request_id,
        PrintedAudit(),
        keep_record=arguments.keep_record,
        even_if_content_failed=arguments.even_if_content_failed,
        unpin=arguments.unpin,
    )
    print(
        f"retried {result.request_id} (failed {result.failure_code}) as {result.retry_request_id}: "
        f"sent to the ingest queue (message {result.message_id})"
    )
    follow = "python -m local.outcomes --request-id" if arguments.stage is None else "its outcome: requestId"
    print(f"{follow} {result.retry_request_id}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = argument_parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        deployment = deployment_of(arguments)
        return list_failures(deployment) if arguments.command == "failures" else retry(deployment, arguments)
    except OperatorError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except (ClientError, BotoCoreError) as error:
        print(f"error: AWS refused or could not be reached: {' '.join(str(error).split())}", file=sys.stderr)
        return AWS_REFUSED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
