"""The benchmark harness end to end on its smallest workload: every figure summary.json promises is there.

Figures are written, not judged: no timing assertions. What must hold regardless of speed is checked:
one request, applied exactly once by both updaters (read back from the emulator's version history),
one update call each, and every field of issue 16's summary present and defined.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.benchmark import run_benchmark
from bench.profiles import READ_QUOTAS, UPDATE_OPERATION
from bench.settings import BenchSettings
from bench.summary import CONTEXT_FIELDS, DEFINITIONS, SUMMARY_FIELDS

pytestmark = pytest.mark.integration


def test_single_request_workload_reports_every_summary_field(tmp_path: Path) -> None:
    settings = BenchSettings(
        quick=True, workers=2, out_dir=tmp_path, cold_start_repeats=1, workload_cap_s={"current": 60.0}
    )
    summary = run_benchmark(settings, command="pytest smoke", only=["single"], write_markdown=False)

    written = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert written == summary
    runs = summary["profiles"]["current"]["single"]
    assert set(runs) == {"ours", "naive"}
    for updater, run in runs.items():
        assert set(run) == {*SUMMARY_FIELDS, *CONTEXT_FIELDS}, updater
        assert run["requests"] == run["finished"] == run["updateCalls"] == 1, updater
        assert (run["lost"], run["doubled"], run["capped"]) == (0, 0, False), updater
        assert set(run["throttles"]) >= {UPDATE_OPERATION, *READ_QUOTAS}, updater
        assert run["settleNoticeLagP50Share"] is not None and run["settleNoticeLagP50Share"] >= 0, updater
        assert run["e2eP50S"] is not None and run["e2eP99S"] >= run["e2eP50S"], updater
        assert run["lambdaSecondsPerRequest"] > 0, updater
    assert set(DEFINITIONS) >= {*SUMMARY_FIELDS, *CONTEXT_FIELDS}
    settings_run = summary["runs"]["current"]["settings"]
    assert settings_run["rateLimits"][UPDATE_OPERATION] == {"ratePerSecond": 10.0, "burst": 40.0}
    assert settings_run["updaterEnvironment"] == {
        "UPDATE_RATE_PER_SECOND": "10.0", "UPDATE_BURST": "40", "GET_IMAGE_SET_TPS": "25.0",
        "GET_IMAGE_SET_METADATA_TPS": "50.0", "SEARCH_IMAGE_SETS_TPS": "25.0", "FUNCTION_CONCURRENCY": "2",
    }  # fmt: skip
    assert {"updaterInitMs", "bareBoto3InitMs", "ratio"} <= set(summary["coldStart"])

    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    ours = results["profiles"]["current"]["workloads"]["single"]["ours"]
    assert ours["integrity"]["applied"] == 1 and ours["rigCpu"]["byRole"]
    for updater, run in results["profiles"]["current"]["workloads"]["single"].items():
        assert sum(run["noticedBy"].values()) == 1, updater  # one version, noticed one way
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "pytest smoke" in markdown and "| single (1 over 1) | naive |" in markdown
    assert "settleNoticeLagP50Share" in markdown
