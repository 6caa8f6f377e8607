"""`python -m bench [--quick] [--quota-scale 40] [--settle-median 1.0] [--settle-p99 4.0] [--workers 16]`."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# The Lambda's task root is lambdas/ (package `updater`); the harness imports it the same way.
if str(REPO_ROOT / "lambdas") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "lambdas"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small workloads, about a minute")
    parser.add_argument("--quota-scale", type=float, default=40.0, help="multiplier on every TPS quota")
    parser.add_argument("--settle-median", type=float, default=1.0, help="settle time median, seconds")
    parser.add_argument("--settle-p99", type=float, default=4.0, help="settle time p99, seconds")
    parser.add_argument("--workers", type=int, default=16, help="concurrent invocations per mapping")
    parser.add_argument("--issue-sizes", action="store_true", help="1,000-request workloads (~30 min)")
    parser.add_argument("--cap", type=float, default=None, help="seconds before a workload is cut off")
    parser.add_argument("--only", nargs="*", help="workload names to run (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default bench/out)")
    parser.add_argument("--no-results-md", action="store_true", help="do not rewrite bench/RESULTS.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from bench.benchmark import run_benchmark  # noqa: PLC0415  (after the path set-up above)
    from bench.settings import OUT_DIR, BenchSettings  # noqa: PLC0415

    args = parse_args(argv)
    settings = BenchSettings(
        quota_scale=args.quota_scale,
        settle_median_s=args.settle_median,
        settle_p99_s=args.settle_p99,
        workers=args.workers,
        quick=args.quick,
        issue_sizes=args.issue_sizes,
        cold_start_repeats=2 if args.quick else 7,
        workload_cap_s=args.cap or (15.0 if args.quick else 120.0),
        out_dir=args.out or OUT_DIR,
    )
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    return run_benchmark(
        settings, command=command.strip(), only=args.only, write_markdown=not args.no_results_md
    )


def machine() -> str:
    python = platform.python_version()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {python}"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def elapsed_since(started: float) -> float:
    return time.time() - started


if __name__ == "__main__":
    main()
