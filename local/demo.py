"""`make demo`: the whole system on this machine, driven with real traffic, summarised as a table.

moto's server and the HealthImaging emulator start locally; the stack's queues, buses, rules and
table are created from the synthesized CDK template; pydicom's sample studies are imported through a
real import job (so HealthImaging's `Import Job Completed` event triggers the stage's import rules);
then update requests, a forced UID change, bad inputs, a no-op and a revert go through the ingest
queue to the real handler. Exit code 0 only if every outcome is the expected one and the run left
an audit trail (copied to out/demo/audit, read with `python -m updater_ops.audit`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from local.command_line import documented_parser, run
from local.demo_report import print_report
from local.stack_template import REPO_ROOT
from updater_ops.audit_records import BucketTrail

if TYPE_CHECKING:  # the stack, the emulator and pydicom load at run time: --help answers at once
    from local.stack import LocalStack

LOG_FILE = REPO_ROOT / "build" / "demo" / "updater-logs.jsonl"
AUDIT_COPY = REPO_ROOT / "out" / "demo" / "audit"
BAD_REQUESTS = REPO_ROOT / "events" / "requests" / "bad"
Step = tuple[dict[str, Any] | str, str]  # (request or raw body, expected: SUCCEEDED | NOOP | a failure code)


def _update(
    stack: LocalStack, image_set: str, request_id: str, level: str, attributes: dict[str, Any]
) -> dict[str, Any]:
    document = {"SchemaVersion": 1.1, level: {"DICOM": attributes}}
    return {
        "datastoreId": stack.datastore_id,
        "imageSetId": image_set,
        "requestId": request_id,
        "DICOMUpdates": {"updatableAttributes": document},
    }


def _requests_phase(stack: LocalStack, ct: str, mr: str) -> list[Step]:
    from local.scenario import sample_request  # noqa: PLC0415

    expected = json.loads((BAD_REQUESTS / "expected.json").read_text())
    steps: list[Step] = [
        (_update(stack, ct, "demo-patient-name", "Patient", {"PatientName": "DOE^JANE"}), "SUCCEEDED"),
        (_update(stack, mr, "demo-study-description", "Study", {"StudyDescription": "CHEST"}), "SUCCEEDED"),
        (sample_request(stack, "07-update-sop-instance-uid.json", mr, "demo-forced-sop-uid"), "SUCCEEDED"),
    ]
    for name in ("unknown-keyword.json", "invalid-birth-date.json", "sop-instance-uid-without-force.json"):
        document = json.loads((BAD_REQUESTS / name).read_text())
        document.update(
            {"datastoreId": stack.datastore_id, "imageSetId": ct, "requestId": f"demo-bad-{name[:-5]}"}
        )
        steps.append((document, expected[name]))
    steps.append(("{not json", "INVALID_JSON"))
    return steps


def _follow_up_phase(stack: LocalStack, ct: str) -> list[Step]:
    revert = {
        "datastoreId": stack.datastore_id,
        "imageSetId": ct,
        "requestId": "demo-revert",
        "revertToVersionId": "1",
    }
    return [
        (_update(stack, ct, "demo-same-again", "Patient", {"PatientName": "DOE^JANE"}), "NOOP"),
        (revert, "SUCCEEDED"),
    ]


class Progress:
    """A one-line progress bar on a terminal while the pollers run (terminal ledger entries so far);
    elsewhere (a pipe, a CI log) a plain line each time the count changes."""

    def __init__(self, stack: LocalStack, out: TextIO) -> None:
        self._stack, self._out = stack, out
        self._stop = threading.Event()
        self._on_terminal = out.isatty()

    def _finished(self) -> int:
        assert self._stack.topology is not None
        answer = self._stack.aws.dynamodb.scan(
            TableName=self._stack.topology.table_name,
            FilterExpression=(
                "attribute_exists(outcome) AND begins_with(pk, :req) AND NOT begins_with(pk, :merged)"
            ),
            ExpressionAttributeValues={":req": {"S": "req#"}, ":merged": {"S": "req#coalesced-"}},
            Select="COUNT",
        )
        return int(answer["Count"])

    def run(self, label: str, expected: int | None, phase: Any) -> None:
        thread = threading.Thread(target=self._draw, args=(label, expected), daemon=True)
        thread.start()
        try:
            phase()
        finally:
            self._stop.set()
            thread.join()
            self._stop.clear()
            if self._on_terminal:
                self._out.write("\n")

    def _draw(self, label: str, expected: int | None) -> None:
        shown = None
        while True:
            done = self._finished()
            if expected is None:  # the import rules decide how many requests there will be
                line = f"{label:28} {done} requests ended"
            else:
                done = min(done, expected)
                bar = "#" * (30 * done // max(expected, 1))
                line = f"{label:28} [{bar:30}] {done}/{expected} requests ended"
            if self._on_terminal:
                self._out.write("\r" + line)
            elif done != shown:
                self._out.write(
                    f"{label}: {done}{'' if expected is None else f'/{expected}'} requests ended\n"
                )
            shown = done
            self._out.flush()
            if self._stop.wait(0.3):
                return


def _run(stack: LocalStack, out: TextIO) -> tuple[list[Step], list[dict[str, Any]], list[str]]:
    from local.scenario import outcome_events  # noqa: PLC0415

    progress = Progress(stack, out)
    progress.run("import job + import rules", None, lambda: _import(stack))
    events = outcome_events(stack)
    image_sets = sorted(stack.emulator.service.image_set_ids(stack.datastore_id))
    by_modality = {_modality(stack, image_set): image_set for image_set in image_sets}
    ct, mr = by_modality["CT"], by_modality["MR"]
    steps = _requests_phase(stack, ct, mr)
    baseline = len([e for e in events if e["detail-type"].startswith("ImageSetMetadataUpdate")])
    progress.run("update requests", baseline + len(steps), lambda: _send(stack, steps))
    events += outcome_events(stack)
    follow_up = _follow_up_phase(stack, ct)
    # One at a time: on a standard queue the revert could reach the lane first and undo what the
    # no-op finds already there.
    for number, step in enumerate(follow_up, start=1):
        label = "no-op" if number == 1 else "revert"
        progress.run(label, baseline + len(steps) + number, lambda step=step: _send(stack, [step]))
    events += outcome_events(stack)
    return steps + follow_up, events, _dlq_reasons(stack)


def _import(stack: LocalStack) -> None:
    from local.scenario import import_job_from_s3  # noqa: PLC0415

    import_job_from_s3(stack, "demo", ("CT_small.dcm", "MR_small.dcm"), broken=1)
    stack.run_until_idle(120)


def _send(stack: LocalStack, steps: list[Step]) -> None:
    from local.scenario import send_requests  # noqa: PLC0415

    send_requests(stack, [request for request, _ in steps])
    stack.run_until_idle(120)


def _modality(stack: LocalStack, image_set: str) -> str:
    document = stack.emulator.service.current_metadata(stack.datastore_id, image_set)
    ((_, series),) = document["Study"]["Series"].items()
    return str(series["DICOM"]["Modality"])


def _dlq_reasons(stack: LocalStack) -> list[str]:
    """failureCode of each failure record (bodies may be anything, even broken JSON)."""
    assert stack.topology is not None
    url, reasons = stack.topology.queue("failures").url, []
    while messages := stack.aws.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in messages:
            reasons.append(
                message.get("MessageAttributes", {}).get("failureCode", {}).get("StringValue", "?")
            )
            stack.aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return reasons


def _metrics_emitted(log_file: Path) -> Counter[str]:
    """Sum of each EMF metric the handler printed (the CloudWatch metrics it would emit)."""
    totals: Counter[str] = Counter()
    for line in log_file.read_text().splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
                for metric in directive["Metrics"]:
                    values = record[metric["Name"]]
                    totals[metric["Name"]] += sum(values) if isinstance(values, list) else values
    return totals


def main(argv: Sequence[str] | None = None) -> int:
    documented_parser("python -m local.demo", __doc__).parse_args(argv)
    from local.healthimaging.profile import BehaviourProfile, SettleTime  # noqa: PLC0415
    from local.stack import LocalStack, LocalStackOptions  # noqa: PLC0415

    out = sys.stdout
    options = LocalStackOptions(
        name_prefix=f"demo{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=10,
        function_timeout_s=60,
        emulator_profile=BehaviourProfile(settle=SettleTime(median_seconds=0.3, p99_seconds=1.0)),
    )
    out.write("starting moto, the HealthImaging emulator and the CDK stack's topology ...\n")
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    with LocalStack(options) as stack:
        steps, events, dlq = _run(stack, out)
        from local.corrections import correct_one_patient  # noqa: PLC0415  (loads the stack's modules)

        corrected = correct_one_patient(stack, out)  # a patient-level correction
        LOG_FILE.write_text(stack.function_logs(), encoding="utf-8")
        audited = _copy_audit_trail(stack)
    ok = print_report(out, steps, events, dlq, _metrics_emitted(LOG_FILE), LOG_FILE) and corrected
    shown = AUDIT_COPY.relative_to(REPO_ROOT)
    out.write(f"audit trail: {audited} records copied to {shown}/ (the stack's Object Lock bucket)\n")
    out.write(f"  python -m updater_ops.audit list --from-dir {shown}\n")
    out.write(f"  python -m updater_ops.audit export --from-dir {shown} --since 2000-01-01 --format fhir\n")
    return 0 if ok and audited else 1


def _copy_audit_trail(stack: LocalStack) -> int:
    """Every audit record the run wrote, copied out of the stack's bucket before moto stops."""
    assert stack.topology is not None
    bucket = stack.topology.function_of("ingest").environment["AUDIT_BUCKET"]
    shutil.rmtree(AUDIT_COPY, ignore_errors=True)
    today = datetime.now(tz=UTC).date()
    trail = BucketTrail(stack.aws.s3, bucket)
    return trail.copy_to(AUDIT_COPY, today - timedelta(days=1), today + timedelta(days=1))


if __name__ == "__main__":
    sys.exit(run(main))
