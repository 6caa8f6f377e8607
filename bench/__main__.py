"""`python -m bench [--profile current|legacy ...] [--quick] [--updaters ours naive] [--only spread hammer]
[--workers 16] [--settle-median 1.0] [--settle-p99 4.0] [--quota-scale 1] [--cap S] [--py-spy]
[--updater-env KEY=VALUE ...] [--moto-as-is] [--out DIR] [--no-results-md] [--no-host-costs]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# The Lambda's task root is lambdas/ (package `updater`); the harness imports it the same way.
if str(REPO_ROOT / "lambdas") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "lambdas"))


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from bench.profiles import DEFAULT_PROFILE, PROFILES  # noqa: PLC0415
    from bench.settings import UPDATERS  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--profile", nargs="+", choices=sorted(PROFILES), default=[DEFAULT_PROFILE],
                        help="service profiles to run, in order (default: current)")  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true", help="small workloads, a few minutes (out: bench/out/quick)"
    )
    parser.add_argument("--updaters", nargs="+", choices=UPDATERS, default=list(UPDATERS))
    parser.add_argument("--only", nargs="*", help="workload names to run (default: all of the profile's)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="concurrent invocations per busy mapping (default 16, quick 4); 0: the stack's own",
    )
    parser.add_argument("--settle-median", type=float, default=1.0, help="settle time median, seconds")
    parser.add_argument("--settle-p99", type=float, default=4.0, help="settle time p99, seconds")
    parser.add_argument("--quota-scale", type=float, default=1.0, help="multiplier on every quota (override)")
    parser.add_argument("--cap", type=float, default=None, help="seconds before a workload is cut off")
    parser.add_argument("--moto-as-is", action="store_true", help="without bench.moto_prompt_receive")
    parser.add_argument("--moto-one-process", action="store_true",
                        help="every service in one moto process (default: DynamoDB in its own)")  # fmt: skip
    parser.add_argument("--py-spy", action="store_true", help="sample the rig's processes with py-spy")
    parser.add_argument("--count-moto-calls", action="store_true", help="count moto's calls by operation")
    parser.add_argument("--updater-env", type=_key_value, action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the functions (a stage setting to try)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="output directory (default bench/out)")
    parser.add_argument("--no-results-md", action="store_true", help="do not rewrite bench/RESULTS.md")
    parser.add_argument("--no-host-costs", action="store_true", help="skip cold start and handler CPU")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from bench.benchmark import run_benchmark  # noqa: PLC0415  (after the path set-up above)
    from bench.settings import OUT_DIR, BenchSettings  # noqa: PLC0415

    args = parse_args(argv)
    # Quick runs show that everything works: fewer environments to start, shorter caps, and a shorter
    # visibility timeout, so that a naive batch that failed comes back inside the cap.
    caps = {"current": 20.0, "legacy": 40.0} if args.quick else {"current": 180.0, "legacy": 240.0}
    workers = args.workers if args.workers is not None else (4 if args.quick else 16)
    if args.cap is not None:
        caps = dict.fromkeys(caps, args.cap)
    settings = BenchSettings(
        profiles=tuple(args.profile),
        quota_scale=args.quota_scale,
        settle_median_s=args.settle_median,
        settle_p99_s=args.settle_p99,
        workers=workers or None,
        function_timeout_s=15 if args.quick else 60,
        quick=args.quick,
        updaters=tuple(args.updaters),
        cold_start_repeats=2 if args.quick else 7,
        workload_cap_s=caps,
        extra_environment=dict(args.updater_env),
        py_spy=args.py_spy,
        count_moto_calls=args.count_moto_calls,
        moto_as_is=args.moto_as_is,
        moto_own_processes=() if args.moto_one_process else BenchSettings.moto_own_processes,
        # Absolute: the environments run in the task root and write their stack dumps under it.
        out_dir=(args.out or (OUT_DIR / "quick" if args.quick else OUT_DIR)).resolve(),
    )
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    return run_benchmark(
        settings,
        command=command.strip(),
        only=args.only,
        write_markdown=not args.no_results_md and not args.quick,
        measure_host_costs=not args.no_host_costs,
    )


if __name__ == "__main__":
    main()
