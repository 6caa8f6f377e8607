"""Results: the JSON file, the targets' verdicts, and bench/RESULTS.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGET_THROUGHPUT_SHARE = 0.9
TARGET_NOTICE_SHARE = 0.1
TARGET_CPU_TYPICAL = 1.0
TARGET_CPU_30KB = 3.0
TARGET_COLD_START = 2.0
QUOTA_WORKLOADS = ("spread", "hammer")


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def target_verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    verdicts = []
    for name in QUOTA_WORKLOADS:
        run = results["workloads"].get(name, {}).get("updater")
        if run is None:
            continue
        share = run["throughput"]["updateCallsShareOfQuota"] or 0.0
        clean = run["integrity"]["lost"] == 0 and run["integrity"]["doubled"] == 0
        verdicts.append({
            "target": f"{name}: update calls >= 90% of the quota, 0 lost/doubled",
            "measured": f"{share:.0%} of quota; lost {run['integrity']['lost']}, "
                        f"doubled {run['integrity']['doubled']}",
            "verdict": _verdict(share >= TARGET_THROUGHPUT_SHARE and clean),
        })  # fmt: skip
    for name, runs in results["workloads"].items():
        ours, naive = runs["updater"]["notice"], runs["naive"]["notice"]
        share = ours["lagShareOfSettle"]["p50"]
        fewer = (ours["pollsPerUpdateCall"]["mean"] or 0) < (naive["pollsPerUpdateCall"]["mean"] or 0)
        verdicts.append({
            "target": f"{name}: settle-to-notice median <= 10% of settle, fewer polls than naive",
            "measured": f"median lag {share if share is None else f'{share:.0%}'} of settle; "
                        f"polls/update {ours['pollsPerUpdateCall']['mean']} "
                        f"vs naive {naive['pollsPerUpdateCall']['mean']}",
            "verdict": _verdict(share is not None and share <= TARGET_NOTICE_SHARE and fewer),
        })  # fmt: skip
    cost = results["handlerCost"]
    for case, limit in (("typical", TARGET_CPU_TYPICAL), ("document-30kb", TARGET_CPU_30KB)):
        ratio = cost["cases"][case]["ratioToBareGetImageSet"]
        verdicts.append({
            "target": f"handler CPU, {case}: <= {limit:g}x one bare GetImageSet",
            "measured": f"{cost['cases'][case]['cpuMs']} ms = {ratio}x ({cost['bareGetImageSetCpuMs']} ms)",
            "verdict": _verdict(ratio <= limit),
        })  # fmt: skip
    cold = results["coldStart"]
    verdicts.append({
        "target": "cold-start init <= 2x a bare boto3 handler",
        "measured": f"{cold['updaterInitMs']} ms vs {cold['bareBoto3InitMs']} ms = {cold['ratio']}x",
        "verdict": _verdict(cold["ratio"] <= TARGET_COLD_START),
    })  # fmt: skip
    return verdicts


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1), encoding="utf-8")


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _workload_rows(name: str, runs: dict[str, Any]) -> list[str]:
    rows = []
    for kind in ("updater", "naive"):
        run = runs[kind]
        tp, lat, notice, calls, lam = (run[k] for k in ("throughput", "latency", "notice", "calls", "lambda"))
        integrity = run["integrity"]
        unfinished = run["finished"] < run["requests"]
        per_request = ", ".join(f"{op.replace('ImageSet', '')} {n}" for op, n in calls["perRequest"].items())
        rows.append(
            f"| {name} | {kind} | {run['finished']}/{run['requests']}{' (cut off)' if unfinished else ''} "
            f"| {_cell(tp['updateCallsShareOfQuota'])} | {_cell(tp['requestsPerMinute'])} "
            f"| {_cell(lat['endToEndS']['p50'])} / {_cell(lat['endToEndS']['p99'])} "
            f"| {_cell(lat['minusSettleS']['p50'])} / {_cell(lat['minusSettleS']['p99'])} "
            f"| {_cell(notice['lagS']['p50'])} ({_cell(notice['lagShareOfSettle']['p50'])}) "
            f"| {_cell(notice['pollsPerUpdateCall']['mean'])} | {per_request} "
            f"| {calls['throttles']} / {calls['conflicts']} "
            f"| {integrity['lost']} / {integrity['doubled']} / {integrity['notApplied']} "
            f"| {lam['lambdaSecondsPerRequest']} | {lam['costPerMillionUpdatesUsd']} |"
        )
    return rows


SCALING = """\
Every HealthImaging TPS quota is multiplied by **{quotaScale:g}** in the emulator and in the updater's
pacer: UpdateImageSetMetadata {realUpdateQuotaPerSecond}/s becomes **{updateQuotaPerSecond:g}/s**
(GetImageSet 25/s becomes {scaledGetImageSet:g}/s). Settle times (log-normal, median
{settleMedianSeconds} s, p99 {settleP99Seconds} s), the naive updater's 1 s poll sleep, SQS delays
(whole seconds) and timeouts stay in real seconds. Throughput figures are fractions of the *scaled*
quota. Fixed costs that do not scale (the 1 s minimum SQS delay of a hand-back, HTTP round trips,
settle polling inside the invocation) weigh {quotaScale:g}x more against the scaled quota than against
the real one. Both updaters run on the same local stack (moto in a process of its own, every
invocation in a Lambda execution environment of its own, i.e. a worker process, and the emulator and
the pollers in the bench's process) with {workers} concurrent invocations per event source mapping.
"""
COLUMNS = """\
Columns: finished/requests; update calls as a share of the scaled quota (while calls were being
made); requests finished per minute; end-to-end latency p50/p99 (s, send to terminal outcome); the
same minus the service's own settle time of the version that applied the request (our overhead,
queueing for the quota included); settle-to-notice lag p50 (s, and as a share of that version's
settle time); GetImageSet polls per update call; API calls per finished request by operation;
throttles/conflicts the service returned; lost/doubled/not applied (from the emulator's version
history); Lambda seconds per request; USD per million updates (arm64, see below). "cut off": the
workload had not finished when the run's time cap (`--cap`) stopped it.
"""
TABLE_HEADER = (
    "| workload | updater | done | calls/quota | req/min | e2e p50/p99 | minus settle p50/p99 "
    "| notice lag p50 (share) | polls/call | API calls per request | throttles/conflicts "
    "| lost/doubled/not applied | Lambda s/req | $/M |\n" + "|---" * 14 + "|"
)
HANDLER_COST = """\
CPU of the handler's own work (parse the body, gunzip + parse the metadata document, validate,
plan, serialize the update), measured with `time.thread_time()` (the calling thread only: service
time and the in-process emulator's threads are excluded), median of repeated runs; peak memory from
tracemalloc over the same work. Yardstick: client-side CPU of one bare boto3 GetImageSet to the
emulator, measured in the same run: **{bareGetImageSetCpuMs} ms**.

| case | request bytes | metadata (gzip) bytes | CPU ms | x GetImageSet | peak memory KB |
|---|---|---|---|---|---|
"""
COLD_START = """\
Init of `updater.handler` (imports + `runtime()`: settings, five boto3 clients, adapters) in a fresh
interpreter: **{updaterInitMs} ms**, vs a bare module importing boto3 and creating one medical-imaging
client: **{bareBoto3InitMs} ms** ({ratio}x; median of {repeats}).
"""
COST = """\
Lambda cost per million updates = measured invocation wall time per finished request x {memoryMb} MB
x $0.0000133334 per GB-s (the **arm64** duration price) + invocations per request x $0.20 per
million requests. Wall time includes settle polling inside the invocation and, for the naive
updater, its 1 s sleeps.
"""


def _cost_rows(cost: dict[str, Any]) -> list[str]:
    return [
        f"| {name} | {c['requestBytes']} | {c['metadataGzipBytes']} | {c['cpuMs']} "
        f"| {c['ratioToBareGetImageSet']} | {c['peakMemoryKb']} |"
        for name, c in cost["cases"].items()
    ]


def render_markdown(results: dict[str, Any], command: str) -> str:
    settings = results["settings"]
    lines = [
        "# Benchmark results (issue 7)",
        "",
        f"Produced by `{command}` on {results['startedAt']} ({results['machine']}), "
        f"{results['durationS']:.0f} s. Raw figures: `bench/out/results.json`; chart: `bench/out/bench.png`.",
        "",
        "## Scaling (read this first)",
        "",
        SCALING.format(**settings, scaledGetImageSet=25 * settings["quotaScale"]),
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *[f"| {v['target']} | {v['measured']} | {v['verdict']} |" for v in results["targets"]],
        "",
        "Why each missed target is missed, and by how much: `bench/ANALYSIS.md`.",
        "",
        "## Per workload: updater vs naive vs quota",
        "",
        COLUMNS,
        TABLE_HEADER,
    ]
    for name, runs in results["workloads"].items():
        lines += _workload_rows(name, runs)
    lines += ["", "## Handler CPU and memory per request", "", HANDLER_COST.format(**results["handlerCost"])]
    lines += [*_cost_rows(results["handlerCost"]), "", "## Cold start", ""]
    lines += [COLD_START.format(**results["coldStart"]), "## Cost", "", COST.format(**settings)]
    return "\n".join(lines)
