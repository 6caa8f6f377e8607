"""The benchmark harness end to end on its smallest workload: every figure the report promises is there.

Figures are printed, not judged: no timing assertions. What must hold regardless of speed is checked:
one request, applied exactly once, by both updaters, read back from the emulator's version history.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.benchmark import run_benchmark
from bench.settings import BenchSettings

pytestmark = pytest.mark.integration

RUN_FIELDS = {
    "updater", "requests", "finished", "succeeded", "coalescedRequests", "updateCallsAccepted", "capped",
    "wallS", "dlqMessages", "throughput", "latency", "notice", "calls", "integrity", "lambda", "raw",
}  # fmt: skip


def test_single_request_workload_reports_every_figure(tmp_path: Path) -> None:
    settings = BenchSettings(quick=True, out_dir=tmp_path, cold_start_repeats=1, workload_cap_s=60)
    results = run_benchmark(settings, command="pytest smoke", only=["single"], write_markdown=False)

    runs = results["workloads"]["single"]
    assert set(runs) == {"updater", "naive"}
    for kind, run in runs.items():
        assert set(run) >= RUN_FIELDS, kind
        assert run["finished"] == run["requests"] == 1
        assert run["integrity"] == {
            "applied": 1, "lost": 0, "notApplied": 0, "doubled": 0, "emptyVersions": 0, "failedVersions": 0,
        }  # fmt: skip
        assert run["calls"]["totals"]["UpdateImageSetMetadata"] == 1
        assert set(run["throughput"]) >= {"updateCallsShareOfQuota", "requestsPerMinute", "quotaPerS"}
        assert set(run["latency"]) == {"endToEndS", "minusSettleS"}
        assert set(run["notice"]) == {
            "settleS", "lagS", "lagShareOfSettle", "pollsPerUpdateCall", "noticedBy",
        }  # fmt: skip
        assert sum(run["notice"]["noticedBy"].values()) == 1, kind
        assert run["notice"]["lagS"]["p50"] is not None and run["notice"]["lagS"]["p50"] >= 0
        assert run["lambda"]["costPerMillionUpdatesUsd"] > 0
    assert set(results["handlerCost"]["cases"]) == {"typical", "document-30kb", "image-set-5000"}
    assert {"updaterInitMs", "bareBoto3InitMs", "ratio"} <= set(results["coldStart"])
    assert {t["verdict"] for t in results["targets"]} <= {"met", "MISSED"}

    written = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert written["workloads"]["single"]["updater"]["integrity"] == runs["updater"]["integrity"]
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "pytest smoke" in markdown and "| single | naive |" in markdown and "arm64" in markdown
