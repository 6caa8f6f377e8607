"""The audit trail for auditors: `python -m updater_ops.audit list|export|copy`.

    list    one line per record of the period (no attribute values)
    export  the period's records as a FHIR R4 Bundle of AuditEvents (--format fhir, the default)
            or as the records themselves (--format json); values included: this is PHI
    copy    the period's records into a directory (what `make demo` does at its end)

Records come from the stage's audit bucket (--bucket; read with the auditor role: --role-arn, or
credentials that already are it) or from a copy on disk (--from-dir). Exit status: 0 done, 1 the
trail could not be read, 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from updater_ops.audit_fhir import bundle
from updater_ops.audit_records import BucketTrail, DirectoryTrail, summary_row

COLUMNS = ("recorded", "kind", "status", "code", "caller", "imageSet", "versions", "attributes")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m updater_ops.audit", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("list", "one line per record"),
        ("export", "FHIR R4 AuditEvents (or the records) as JSON"),
        ("copy", "the records into a directory"),
    ):
        command = commands.add_parser(name, help=help_text)
        source = command.add_mutually_exclusive_group(required=True)
        source.add_argument("--bucket", help="the stage's audit bucket (output AuditBucketName)")
        source.add_argument("--from-dir", type=Path, help="a copy of the trail (e.g. out/demo/audit)")
        command.add_argument("--endpoint-url", help="an S3 endpoint other than AWS's (a local stack)")
        command.add_argument("--role-arn", help="assume this role first (output AuditorRoleArn)")
        command.add_argument(
            "--since", type=date.fromisoformat, help="first day, YYYY-MM-DD (default: 7 days ago)"
        )
        command.add_argument("--until", type=date.fromisoformat, help="last day, YYYY-MM-DD (default: today)")
        if name == "export":
            command.add_argument("--format", choices=("fhir", "json"), default="fhir")
            command.add_argument("--out", type=Path, help="write here instead of standard output")
        if name == "copy":
            command.add_argument("--to", type=Path, required=True)
    return parser


def _s3(arguments: argparse.Namespace) -> Any:
    import boto3  # noqa: PLC0415  # only the bucket source needs it

    session = boto3.session.Session()
    if arguments.role_arn:
        credentials = session.client("sts", endpoint_url=arguments.endpoint_url).assume_role(
            RoleArn=arguments.role_arn, RoleSessionName="audit-export"
        )["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return session.client("s3", endpoint_url=arguments.endpoint_url)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    until = arguments.until or datetime.now(tz=UTC).date()
    since = arguments.since or until - timedelta(days=7)
    if since > until:
        print("--since is after --until", file=sys.stderr)
        return 2
    trail = (
        DirectoryTrail(arguments.from_dir)
        if arguments.from_dir
        else BucketTrail(_s3(arguments), arguments.bucket)
    )
    try:
        if arguments.command == "copy":
            if not isinstance(trail, BucketTrail):
                print("copy reads from --bucket", file=sys.stderr)
                return 2
            print(f"{trail.copy_to(arguments.to, since, until)} records copied to {arguments.to}")
            return 0
        records = sorted(trail.records(since, until), key=lambda r: int(r.get("recordedAtMs", 0)))
    except Exception as error:  # any reading failure: say what kind, exit 1
        print(f"could not read the audit trail: {type(error).__name__}", file=sys.stderr)
        return 1
    if arguments.command == "list":
        _print_table(records)
        return 0
    document = bundle(records) if arguments.format == "fhir" else records
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if arguments.out:
        arguments.out.write_text(text + "\n", encoding="utf-8")
        print(f"{len(records)} records written to {arguments.out}")
    else:
        print(text)
    return 0


def _print_table(records: list[dict[str, Any]]) -> None:
    rows = [summary_row(r) for r in records]
    widths = {c: max([len(c), *(len(row[c]) for row in rows)]) for c in COLUMNS}
    print("  ".join(c.ljust(widths[c]) for c in COLUMNS))
    for row in rows:
        print("  ".join(row[c].ljust(widths[c]) for c in COLUMNS))
    print(f"{len(rows)} records")


if __name__ == "__main__":
    sys.exit(main())
