"""How fast the rig's servers answer while a workload runs: a trivial call to each, five times a second.

A function's time is mostly waiting for answers (DynamoDB, SQS, EventBridge from moto; HealthImaging
from the emulator). When a server's interpreter is busy, every caller waits longer, and the updater
looks slow for the rig's sake. The probes cost nearly nothing to serve, so their latency is the
server's queueing: moto's `ListTables` (no table walked, no message scanned) and the emulator's
admin `GET /_emulator/profile` (served by the same HTTP server as the API, not in its call log).
"""

from __future__ import annotations

import statistics
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PROBE_EVERY_S = 0.2


@dataclass
class RigLatencyProbe:
    dynamodb: Any
    emulator_url: str
    samples: dict[str, list[float]] = field(default_factory=lambda: {"moto": [], "emulator": []})
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> RigLatencyProbe:
        self._thread = threading.Thread(target=self._run, name="rig-latency", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _timed(self, name: str, call: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            call()
        except Exception:  # a probe that fails says nothing about latency; the run reports its own errors
            return
        self.samples[name].append((time.perf_counter() - started) * 1000)

    def _emulator(self) -> None:
        with urllib.request.urlopen(f"{self.emulator_url}/_emulator/profile", timeout=10) as answer:
            answer.read()

    def _run(self) -> None:
        while not self._stop.wait(PROBE_EVERY_S):
            self._timed("moto", lambda: self.dynamodb.list_tables(Limit=1))
            self._timed("emulator", self._emulator)

    def figures(self) -> dict[str, dict[str, float | int | None]]:
        return {name: _milliseconds(values) for name, values in self.samples.items()}


def _milliseconds(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"p50Ms": None, "p99Ms": None, "n": 0}
    ordered = sorted(values)
    return {
        "p50Ms": round(statistics.median(ordered), 1),
        "p99Ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 1),
        "n": len(ordered),
    }
