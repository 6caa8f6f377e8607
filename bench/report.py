"""bench/RESULTS.md from the merged results (every profile run so far) and their summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.summary import DEFINITIONS, earlier_json
from bench.verdicts import verdicts

FIGURE_COLUMNS = (
    ("done", lambda r: f"{r['finished']}/{r['requests']}{' cut off' if r['capped'] else ''}"),
    ("calls/quota", lambda r: _cell(r["updateCallsShareOfQuota"])),
    ("req/s", lambda r: _cell(r["requestsPerSecond"])),
    ("update calls", lambda r: r["updateCalls"]),
    ("GetImageSet /update", lambda r: _cell(r["getImageSetPerUpdate"])),
    ("GetMetadata /request", lambda r: _cell(r["getImageSetMetadataPerUpdate"])),
    ("throttles", lambda r: ", ".join(f"{k} {v}" for k, v in r["throttles"].items() if v) or "0"),
    ("e2e p50/p99 s", lambda r: f"{_cell(r['e2eP50S'])} / {_cell(r['e2eP99S'])}"),
    ("notice lag p50 (outcome)", lambda r: f"{_cell(r['settleNoticeLagP50Share'])} "
                                           f"({_cell(r['outcomeLagP50Share'])})"),
    ("Lambda s/req", lambda r: r["lambdaSecondsPerRequest"]),
    ("Lambda $ per M req", lambda r: r["costPerMillionRequestsUsd"]),
    ("lost/doubled", lambda r: f"{r['lost']} / {r['doubled']}"),
)  # fmt: skip
BREAKDOWN = ("toCallS", "settleS", "toNoticeS", "noticeToOutcomeS")
HOW_TO_READ = """\
Quotas are the profile's own, unscaled (`--quota-scale` {quotaScale:g}); the emulator throttles every
listed operation at them and the updater's functions are configured for the same quotas, with
FUNCTION_CONCURRENCY matching the busy mappings' concurrency, over which each environment's read
budget is split ({environment}). Settle times are log-normal, median {settleMedianSeconds} s, p99
{settleP99Seconds} s. Every run starts a fresh local stack: moto in its own process, each function in
Lambda execution environments (worker processes), the emulator and the pollers in the bench's
process. The mappings that carry the run's requests (ours: ingest and the lane; naive: ingest) get
{workers} concurrent invocations, the idle ones the stack's own (the rules queue, which carries
HealthImaging's settle events to intake, included); environments are started before the clock
runs, so cold starts are not in these figures (see below). moto's SQS long poll: {motoLongPoll}
(on top of the stack's `local.moto_sqs_receive`: moto's own misses messages whose visibility
timeout ends and spins on FIFO queues whose visible messages are all blocked; see
`bench/moto_prompt_receive.py`). **Ours** is the stack's own intake, apply and finalize functions;
**naive** is `bench/naive_updater.py` (GetImageSet, UpdateImageSetMetadata, sleep 1 s between
GetImageSet polls, no pacing, no coalescing, no conflict handling) on the same ingest queue.
"""


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _profile_section(name: str, run: dict[str, Any]) -> list[str]:
    settings = run["settings"]
    limits = ", ".join(
        f"{op} {r['ratePerSecond']:g}/s burst {r['burst']:g}" for op, r in settings["rateLimits"].items()
    )
    environment = ", ".join(f"`{k}={v}`" for k, v in settings["updaterEnvironment"].items())
    produced = f"Produced by `{run['command']}` on {run['startedAt']} ({run['machine']})"
    lines = [f"## Profile `{name}`", "", f"{produced}, {run['durationS']:.0f} s. Rate limits: {limits}.", ""]
    lines.append(HOW_TO_READ.format(**settings, environment=environment))
    if name == "legacy":
        lines += ["At 0.25 update calls/s, 250 requests would take 17 minutes or more: legacy runs "
                  "20 requests over 20 image sets (80 s of calls at least).", ""]  # fmt: skip
    header = ["workload", "updater", *(title for title, _ in FIGURE_COLUMNS)]
    lines += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for workload, updaters in run["workloads"].items():
        for updater, figures in updaters.items():
            label = f"{workload} ({figures['requests']} over {figures['imageSets']})"
            cells = [label, updater, *(str(render(figures)) for _, render in FIGURE_COLUMNS)]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *_time_section(run), ""]
    return lines


def _time_section(run: dict[str, Any]) -> list[str]:
    lines = [
        "Where a request's time went (medians, s): sent -> its version's call accepted; the service's "
        "settle; settled -> notice (the first of: a GetImageSet that saw it settled, intake's log "
        "line recording its settle event; with neither, the outcome); that -> outcome. Noticed by: "
        "versions noticed each way. Rig CPU over the window (cores busy of 2, by process role; "
        "`machine` includes whatever else ran on the host); latency of a trivial call to moto and to "
        "the emulator, probed five times a second (p50/p99 ms):",
        "",
        "| workload | updater | to call | settle | to notice | to outcome | noticed by (read/event/outcome) "
        "| rig CPU by role | rig/machine | moto ms | emulator ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for workload, updaters in run["workloads"].items():
        for updater, figures in updaters.items():
            parts = figures["e2eBreakdownP50S"]
            cpu = figures["rigCpu"]
            roles = "; ".join(f"{_short_role(role)} {r['coresBusy']}" for role, r in cpu["byRole"].items())
            lines.append(
                f"| {workload} | {updater} | "
                + " | ".join(_cell(parts[name]) for name in BREAKDOWN)
                + f" | {_noticed_by(figures)} | {roles}"
                + f" | {cpu['rigCoresBusy']} / {cpu['machineCoresBusy']} | "
                + " | ".join(_probe(figures["rigLatency"][server]) for server in ("moto", "emulator"))
                + " |"
            )
    return lines


def _short_role(role: str) -> str:
    """A role without its detail in parentheses, except a moto process of one service, which keeps
    it ("moto (dynamodb)" -> "moto dynamodb") so that the two moto processes stay apart."""
    name, _, detail = role.partition(" (")
    service = detail.rstrip(")")
    return f"{name} {service}" if name == "moto" and service and service != "every service" else name


def _noticed_by(figures: dict[str, Any]) -> str:
    noticed = figures.get("noticedBy") or {}
    return " / ".join(str(noticed.get(way, "-")) for way in ("getImageSet", "settleEvent", "outcome"))


def _probe(latency: dict[str, Any]) -> str:
    return f"{_cell(latency['p50Ms'])} / {_cell(latency['p99Ms'])}"


def _definitions() -> list[str]:
    return ["## Definitions", "", *(f"- **{name}**: {text}." for name, text in DEFINITIONS.items()), ""]


def _cold_start(cold: dict[str, Any] | None) -> list[str]:
    if not cold:
        return []
    per_function = ", ".join(f"{f} {cold[f + 'InitMs']} ms" for f in ("intake", "apply", "finalize"))
    return [
        "## Cold start",
        "",
        f"Init (imports + `runtime()`) of each function's handler module in a fresh interpreter, median "
        f"of {cold['repeats']}: {per_function}; a bare module importing boto3 and building one "
        f"medical-imaging client: {cold['bareBoto3InitMs']} ms. Slowest / bare = **{cold['ratio']}x**.",
        "",
    ]


def _handler_cost(cost: dict[str, Any] | None) -> list[str]:
    if not cost:
        return []
    rows = [
        f"| {name} | {c['requestBytes']} | {c['metadataGzipBytes']} | {c['cpuMs']} "
        f"| {c['ratioToBareGetImageSet']} | {c['peakMemoryKb']} |"
        for name, c in cost["cases"].items()
    ]
    return [
        "## Handler CPU and memory per request",
        "",
        "The handler's own work (parse, gunzip + parse the metadata, validate, plan, serialize), "
        "`time.thread_time()`, median; peak memory from tracemalloc. Yardstick: client-side CPU of one "
        f"bare boto3 GetImageSet to the emulator, **{cost['bareGetImageSetCpuMs']} ms**.",
        "",
        "| case | request bytes | metadata (gzip) bytes | CPU ms | x GetImageSet | peak memory KB |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def render_markdown(results: dict[str, Any], summary: dict[str, Any]) -> str:
    lines = [
        "# Benchmark results (issue 16)",
        "",
        "Raw figures: `bench/out/results.json`; the issue's fields: `bench/out/summary.json`; chart: "
        "`bench/out/bench.png`. Where the time goes and what limits throughput: `bench/ANALYSIS.md`.",
        "",
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *[f"| {v['target']} | {v['measured']} | {v['verdict']} |" for v in verdicts(summary)],
        "",
    ]
    for name, run in results["profiles"].items():
        lines += _profile_section(name, run)
    lines += (
        _definitions() + _cold_start(results.get("coldStart")) + _handler_cost(results.get("handlerCost"))
    )
    return "\n".join(lines)


def merged_results(path: Path, results: dict[str, Any]) -> dict[str, Any]:
    """`results` over an earlier results.json: its profiles replaced, the others kept."""
    previous = earlier_json(path)
    profiles = {**previous.get("profiles", {}), **results["profiles"]}
    return {**previous, **{k: v for k, v in results.items() if v is not None}, "profiles": profiles}


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1), encoding="utf-8")
