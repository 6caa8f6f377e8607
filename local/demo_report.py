"""The demo's closing report: one row per request, the import summary, the failures queue and the metrics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, TextIO

COLUMNS = (
    f"{'request':36} {'expected':22} {'outcome':10} {'versions':9} {'polls':>5} {'settle ms':>9}  reason"
)


def matches(outcome: dict[str, Any], expected: str) -> bool:
    if expected == "NOOP":
        return outcome["status"] == "SUCCEEDED" and bool(outcome["noop"])
    if expected == "SUCCEEDED":
        return bool(outcome["status"] == "SUCCEEDED" and not outcome["noop"])
    return bool(outcome["status"] == "FAILED" and outcome["errorCode"] == expected)


def _row(outcome: dict[str, Any], expected: str, good: bool) -> str:
    versions = f"{outcome.get('fromVersionId') or '-'}->{outcome.get('toVersionId') or '-'}"
    status = "NOOP" if outcome["noop"] else outcome["status"]
    settle = outcome.get("settleMs") or "-"
    reason = outcome.get("errorCode") or ""
    flag = "" if good else "   <- UNEXPECTED"
    head = f"{outcome['requestId'][:36]:36} {expected:22} {status:10} {versions:9}"
    return f"{head} {outcome['polls']:>5} {settle!s:>9}  {reason}{flag}"


def print_report(
    out: TextIO,
    steps: list[tuple[Any, str]],
    events: list[dict[str, Any]],
    dlq: list[str],
    metrics: Counter[str],
    log_file: Path,
) -> bool:
    updates = [e["detail"] for e in events if e["detail-type"].startswith("ImageSetMetadataUpdate.")]
    summaries = [e["detail"] for e in events if e["detail-type"] == "ImportJob.Reacted"]
    by_id = {outcome["requestId"]: outcome for outcome in updates}
    ok = len(by_id) == len(updates)  # exactly one outcome per request
    out.write("\n" + COLUMNS + "\n")
    for outcome in (o for o in updates if o["requestId"].startswith("import-")):
        good = matches(outcome, "SUCCEEDED")
        ok &= good
        out.write(_row(outcome, "SUCCEEDED (import rule)", good) + "\n")
    for request, expected in steps:
        request_id = request["requestId"] if isinstance(request, dict) else None
        outcome = (
            by_id.get(request_id)
            if request_id
            else next((o for o in updates if o["requestId"].startswith("body-")), None)
        )
        good = outcome is not None and matches(outcome, expected)
        ok &= good
        out.write(
            (_row(outcome, expected, good) if outcome else f"{request_id:36} {expected:22} MISSING") + "\n"
        )
    for summary in summaries:
        out.write(
            f"\nimport job {summary['jobId'][:8]}…: {summary['imageSetsSeen']} image sets seen, "
            f"{summary['updatesRequested']} updates requested, {summary['skipped']} already correct, "
            f"{summary['failedFiles']} failed files {summary['failedFileNames']}\n"
        )
    ok &= len(summaries) == 1
    expected_dlq = sorted(e for _, e in steps if e not in ("SUCCEEDED", "NOOP"))
    ok &= sorted(dlq) == expected_dlq
    out.write(f"failures queue: {len(dlq)} failed requests, reasons {sorted(dlq)}\n")
    out.write("metrics emitted (EMF): " + ", ".join(f"{k}={v:g}" for k, v in sorted(metrics.items())) + "\n")
    out.write(f"full JSON logs (Powertools) and EMF lines: {log_file}\n")
    out.write("demo " + ("passed" if ok else "FAILED") + "\n")
    return ok
