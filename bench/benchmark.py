"""One benchmark run: every workload with both updaters, handler cost, cold start; then the report."""

from __future__ import annotations

import sys
import time
from typing import Any

from pydicom.data import get_testdata_file

from bench.chart import write_chart
from bench.cold_start import measure_cold_start
from bench.figures import run_figures
from bench.handler_cost import measure_handler_cost
from bench.report import render_markdown, target_verdicts, write_json
from bench.run import NAIVE, OURS, run_workload
from bench.settings import RESULTS_FILE, BenchSettings
from bench.workloads import workloads
from local.healthimaging import HealthImagingService


def ct_small_template() -> dict[str, Any]:
    """The metadata document HealthImaging makes from pydicom's CT_small.dcm: every image set's start."""
    service = HealthImagingService()
    datastore_id = service.create_datastore("bench-template")
    [image_set_id] = service.import_dicom_files(datastore_id, [str(get_testdata_file("CT_small.dcm"))])
    return service.current_metadata(datastore_id, image_set_id)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_benchmark(
    settings: BenchSettings, *, command: str, only: list[str] | None = None, write_markdown: bool = True
) -> dict[str, Any]:
    from bench.__main__ import machine, now_iso  # noqa: PLC0415

    started = time.time()
    results: dict[str, Any] = {"startedAt": now_iso(), "machine": machine(), "command": command}
    results["settings"] = settings.described()
    template = ct_small_template()
    results["workloads"] = {}
    for workload in workloads(quick=settings.quick, issue_sizes=settings.issue_sizes):
        if only and workload.name not in only:
            continue
        runs = {}
        for updater in (OURS, NAIVE):
            progress(
                f"{workload.name} ({workload.requests} requests, {workload.image_sets} image sets): {updater}"
            )
            observation = run_workload(settings, workload, updater, template)
            runs[updater] = run_figures(observation, settings)
            progress(
                f"  {runs[updater]['finished']}/{workload.requests} finished in {observation.wall_s:.1f} s"
            )
        results["workloads"][workload.name] = runs
    progress("handler CPU and memory")
    results["handlerCost"] = measure_handler_cost(template)
    progress("cold start")
    results["coldStart"] = measure_cold_start(repeats=settings.cold_start_repeats)
    results["targets"] = target_verdicts(results)
    results["durationS"] = round(time.time() - started, 1)
    write_json(results, settings.out_dir / "results.json")
    write_chart(results, settings.out_dir / "bench.png")
    markdown = render_markdown(results, command)
    (settings.out_dir / "RESULTS.md").write_text(markdown, encoding="utf-8")
    if write_markdown:
        RESULTS_FILE.write_text(markdown, encoding="utf-8")
    print(markdown)
    return results
