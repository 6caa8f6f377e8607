"""The PNG: latency distributions (ours vs naive, per workload) and throughput over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the backend must be chosen first

BIN_S = 2.0


def _rate(times: list[float]) -> tuple[list[float], list[float]]:
    if not times:
        return [], []
    bins = int(max(times) // BIN_S) + 1
    counts = [0] * bins
    for t in times:
        counts[int(t // BIN_S)] += 1
    return [i * BIN_S for i in range(bins)], [c / BIN_S for c in counts]


def write_chart(results: dict[str, Any], path: Path) -> None:
    workloads = results["workloads"]
    figure, axes = plt.subplots(2, len(workloads), figsize=(4 * len(workloads), 7), squeeze=False)
    for column, (name, runs) in enumerate(workloads.items()):
        top, bottom = axes[0][column], axes[1][column]
        latencies = [runs[kind]["raw"]["latenciesS"] for kind in ("updater", "naive")]
        if any(latencies):
            top.boxplot(latencies, whis=(1, 99), showfliers=False)
            top.set_xticks([1, 2], ["updater", "naive"])
        top.set_title(f"{name}: end-to-end latency (s)", fontsize=9)
        for kind, style in (("updater", "-"), ("naive", "--")):
            x, y = _rate(runs[kind]["raw"]["timeline"]["finished"])
            bottom.plot(x, y, style, label=f"{kind} requests/s")
        bottom.axhline(
            results["settings"]["updateQuotaPerSecond"], color="grey", linewidth=0.8, label="quota"
        )
        bottom.set_title(f"{name}: throughput over time", fontsize=9)
        bottom.set_xlabel("s since first request")
        bottom.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
