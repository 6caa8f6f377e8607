"""One benchmark run: per profile, every workload with each updater; then cold start, handler cost
and the reports (results.json, summary.json, bench.png, RESULTS.md)."""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import UTC, datetime
from typing import Any

from pydicom.data import get_testdata_file

from bench.chart import write_chart
from bench.cold_start import measure_cold_start
from bench.figures import run_figures
from bench.handler_cost import measure_handler_cost
from bench.report import merged_results, render_markdown, write_json
from bench.run import run_workload
from bench.settings import RESULTS_FILE, BenchSettings
from bench.summary import write_summary
from bench.workloads import workloads
from local.healthimaging import HealthImagingService


def ct_small_template() -> dict[str, Any]:
    """The metadata document HealthImaging makes from pydicom's CT_small.dcm: every image set's start."""
    service = HealthImagingService()
    datastore_id = service.create_datastore("bench-template")
    [image_set_id] = service.import_dicom_files(datastore_id, [str(get_testdata_file("CT_small.dcm"))])
    return service.current_metadata(datastore_id, image_set_id)


def progress(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def machine() -> str:
    python = platform.python_version()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {python}"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def run_profile(
    settings: BenchSettings, profile: str, template: dict[str, Any], *, command: str, only: list[str] | None
) -> dict[str, Any]:
    started = time.time()
    run: dict[str, Any] = {"command": command, "startedAt": now_iso(), "machine": machine()}
    run["settings"] = settings.described(profile)
    run["workloads"] = {}
    for workload in workloads(profile, quick=settings.quick):
        if only and workload.name not in only:
            continue
        runs = {}
        for updater in settings.updaters:
            progress(
                f"{profile} / {workload.name} ({workload.requests} over {workload.image_sets}): {updater}"
            )
            observation = run_workload(settings, profile, workload, updater, template)
            figures = run_figures(observation, settings)
            runs[updater] = figures
            progress(
                f"  {figures['finished']}/{workload.requests} finished in {figures['windowS']} s, "
                f"{figures['updateCalls']} update calls, share {figures['updateCallsShareOfQuota']}, "
                f"rig {figures['rigCpu']['rigCoresBusy']} cores busy"
            )
        run["workloads"][workload.name] = runs
    run["durationS"] = round(time.time() - started, 1)
    return run


def run_benchmark(
    settings: BenchSettings,
    *,
    command: str,
    only: list[str] | None = None,
    write_markdown: bool = True,
    measure_host_costs: bool = True,
) -> dict[str, Any]:
    """Runs `settings.profiles`; returns the summary (every profile in summary.json so far)."""
    template = ct_small_template()
    results: dict[str, Any] = {"profiles": {}}
    for profile in settings.profiles:
        results["profiles"][profile] = run_profile(settings, profile, template, command=command, only=only)
    results["coldStart"] = results["handlerCost"] = None
    if measure_host_costs:
        progress("cold start")
        results["coldStart"] = measure_cold_start(repeats=settings.cold_start_repeats)
        progress("handler CPU and memory")
        results["handlerCost"] = measure_handler_cost(template)
    out = settings.out_dir
    results = merged_results(out / "results.json", results)
    write_json(results, out / "results.json")
    summary = write_summary(out / "summary.json", results)
    write_chart(results, out / "bench.png")
    markdown = render_markdown(results, summary)
    (out / "RESULTS.md").write_text(markdown, encoding="utf-8")
    if write_markdown:
        RESULTS_FILE.write_text(markdown, encoding="utf-8")
    print(markdown)
    return summary
