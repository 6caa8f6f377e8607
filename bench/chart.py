"""The PNG: per profile and workload, latency distributions (ours vs naive) and throughput over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the backend must be chosen first

BIN_S = 2.0
STYLES = {"ours": "-", "naive": "--"}


def _rate(times: list[float]) -> tuple[list[float], list[float]]:
    if not times:
        return [], []
    bins = int(max(times) // BIN_S) + 1
    counts = [0] * bins
    for t in times:
        counts[int(t // BIN_S)] += 1
    return [i * BIN_S for i in range(bins)], [c / BIN_S for c in counts]


def write_chart(results: dict[str, Any], path: Path) -> None:
    columns = [
        (profile, name, runs, run["settings"]["updateQuotaPerSecond"])
        for profile, run in results["profiles"].items()
        for name, runs in run["workloads"].items()
    ]
    figure, axes = plt.subplots(
        2, max(1, len(columns)), figsize=(4.5 * max(1, len(columns)), 7), squeeze=False
    )
    for column, (profile, name, runs, quota) in enumerate(columns):
        top, bottom = axes[0][column], axes[1][column]
        updaters = list(runs)
        latencies = [runs[u]["raw"]["latenciesS"] for u in updaters]
        if any(latencies):
            top.boxplot(latencies, whis=(1, 99), showfliers=False)
            top.set_xticks(range(1, len(updaters) + 1), updaters)
        top.set_title(f"{profile} / {name}: end-to-end latency (s)", fontsize=9)
        for updater in updaters:
            timeline = runs[updater]["raw"]["timeline"]
            x, y = _rate(timeline["finished"])
            bottom.plot(x, y, STYLES.get(updater, ":"), label=f"{updater} requests/s")
            x, y = _rate(timeline["updateCalls"])
            bottom.plot(x, y, STYLES.get(updater, ":"), alpha=0.5, label=f"{updater} update calls/s")
        bottom.axhline(quota, color="grey", linewidth=0.8, label="update quota")
        bottom.set_title(f"{profile} / {name}: throughput over time", fontsize=9)
        bottom.set_xlabel("s since first request")
        bottom.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
