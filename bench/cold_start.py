"""Cold-start init of the handler module (imports + client creation) in a fresh interpreter each time,
against a bare boto3 handler module that only builds a medical-imaging client."""

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
UPDATER_PROBE = """
import time; started = time.perf_counter()
import updater.handler
updater.handler.runtime()
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
    "FAILURE_DLQ_URL": "http://127.0.0.1:1/queue/bench-dlq",
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
    _probe_seconds(UPDATER_PROBE)  # compile bytecode once, as the deployed package ships it
    updater = [_probe_seconds(UPDATER_PROBE) for _ in range(repeats)]
    bare = [_probe_seconds(BARE_PROBE) for _ in range(repeats)]
    updater_ms = statistics.median(updater) * 1000
    bare_ms = statistics.median(bare) * 1000
    return {
        "updaterInitMs": round(updater_ms, 1),
        "bareBoto3InitMs": round(bare_ms, 1),
        "ratio": round(updater_ms / bare_ms, 2),
        "repeats": repeats,
    }


if __name__ == "__main__":
    print(json.dumps(measure_cold_start(3)))
