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
    """Median init of each function and of the bare handler; `ratio` is the slowest function's."""
    figures: dict[str, float] = {"repeats": repeats}
    bare_ms = statistics.median(_probe_seconds(BARE_PROBE) for _ in range(repeats)) * 1000
    slowest = 0.0
    for function in FUNCTIONS:
        probe = UPDATER_PROBE.format(function=function)
        _probe_seconds(probe)  # compile bytecode once, as the deployed package ships it
        median_ms = statistics.median(_probe_seconds(probe) for _ in range(repeats)) * 1000
        figures[f"{function}InitMs"] = round(median_ms, 1)
        slowest = max(slowest, median_ms)
    figures["updaterInitMs"] = round(slowest, 1)
    figures["bareBoto3InitMs"] = round(bare_ms, 1)
    figures["ratio"] = round(slowest / bare_ms, 2)
    return figures


if __name__ == "__main__":
    print(json.dumps(measure_cold_start(3)))
