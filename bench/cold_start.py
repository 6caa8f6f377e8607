"""Cold-start init of each function's handler module (imports + client creation) in a fresh
interpreter each time, against a bare boto3 handler module that only builds a medical-imaging client."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Each probe prints the seconds spent in imports and client creation, measured inside the process
# (interpreter start-up is the same for both and not part of the module's init).
FUNCTIONS = ("intake", "apply", "finalize")
UPDATER_PROBE = """
import time; started = time.perf_counter()
import updater.handlers.{function} as handler
handler.runtime()
print(time.perf_counter() - started)
"""
BARE_PROBE = """
import time; started = time.perf_counter()
import boto3
client = boto3.client("medical-imaging")
print(time.perf_counter() - started)
"""
LOCAL_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "LEDGER_TABLE_NAME": "bench-ledger",
    "OUTCOME_BUS_NAME": "bench-outcomes",
    "FAILURES_QUEUE_URL": "http://127.0.0.1:1/queue/bench-failures",
    "LANE_QUEUE_URL": "http://127.0.0.1:1/queue/bench-lane.fifo",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "PYTHONDONTWRITEBYTECODE": "",
}


def _probe_seconds(code: str) -> float:
    environment = os.environ | LOCAL_ENVIRONMENT | {"PYTHONPATH": str(REPO_ROOT / "lambdas")}
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True
    )
    return float(completed.stdout.strip().splitlines()[-1])


def measure_cold_start(repeats: int) -> dict[str, float]:
    """Median init of each function and of the bare handler; `ratio` is the slowest function's.

    The probes take turns (bare, intake, apply, finalize, then again), so a machine that speeds up
    or slows down during the measurement moves every figure alike, not the ratio."""
    probes = {"bareBoto3": BARE_PROBE} | {f: UPDATER_PROBE.format(function=f) for f in FUNCTIONS}
    for function in FUNCTIONS:
        _probe_seconds(probes[function])  # compile bytecode once, as the deployed package ships it
    seconds: dict[str, list[float]] = {name: [] for name in probes}
    for _ in range(repeats):
        for name, code in probes.items():
            seconds[name].append(_probe_seconds(code))
    figures: dict[str, float] = {"repeats": repeats}
    for function in FUNCTIONS:
        figures[f"{function}InitMs"] = round(statistics.median(seconds[function]) * 1000, 1)
    slowest = max(figures[f"{function}InitMs"] for function in FUNCTIONS)
    bare_ms = round(statistics.median(seconds["bareBoto3"]) * 1000, 1)
    figures["updaterInitMs"] = slowest
    figures["bareBoto3InitMs"] = bare_ms
    figures["ratio"] = round(slowest / bare_ms, 2)
    return figures


if __name__ == "__main__":
    print(json.dumps(measure_cold_start(3)))
