"""Chaos soak: seeded, time-bounded traffic with faults over the whole local stack, then invariants.

    python -m local.chaos [--seed N] [--requests N] [--minutes M]      (make chaos, make chaos-quick)

Traffic: requests across many image sets (a few hot ones take a quarter of it), sent once, twice
(a redelivery), on both triggers (ingest queue and the requests bus), on EventBridge only or on the
FIFO queue; no-ops, dry runs, reverts, pinned versions, and bad inputs of every kind. Faults:
invocations cut off mid-way or whose response is lost, emulator 5xx, throttling (scattered and in
bursts), UPDATE_FAILED versions, settles longer than the function's budget, extra latency, and
moto outages (every AWS service but HealthImaging unreachable for a moment, state kept). The
pacer and the emulator's update quota are scaled up together so the soak takes minutes.

At the end the invariants of `local.chaos_invariants` are checked against the ledger, the outcome
events, the DLQs, the emulator's version history and the functions' log streams. The summary
goes to stdout; the exit status is 1 if any invariant fails.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.data import get_testdata_file

from local.chaos_evidence import Evidence, collect
from local.chaos_faults import FaultRates, InvocationFaults, MotoOutages, ThrottleBursts, emulator_profile
from local.chaos_invariants import InvariantResult, check_all, outcome_counts
from local.chaos_sender import send_workload
from local.chaos_workload import ImageSetTarget, Workload, WorkloadBuilder
from local.event_source import InvocationRecord, wait_until_idle
from local.lambda_invocation import task_root_importable
from local.stack import LocalStack, LocalStackOptions
from local.stack_template import REPO_ROOT

SAMPLE_FILES = ("CT_small.dcm", "MR_small.dcm")
OUTPUT_DIR = REPO_ROOT / "build" / "chaos"


@dataclass(frozen=True)
class ChaosOptions:
    seed: int = 8
    # ~2.2 requests/s at 2,000 on a shared 2-core machine (885 s) when moto, the emulator and the
    # handlers shared one process. `make chaos-quick`: 600 requests.
    requests: int = 2000
    minutes: float = 60.0
    image_sets: int = 30
    workers: int = 4  # concurrent pollers per ingest queue: records of a batch settle one after another
    update_rate_per_second: float = 25.0  # the real quota is 0.25/s: scaled, pacer and emulator alike
    function_timeout_s: float = 10.0
    # AWS wants visibility >= timeout (+ batching window); shorter lets a batch still being worked
    # on be received again, which burns receive counts until the redrive policy moves it to the DLQ.
    visibility_timeout_s: int = 15
    # The stack's default reserve: it must outlast one AWS call with its SDK retries (up to ~4 s of
    # back-off during a throttling burst), or the invocation overruns its timeout mid-call.
    time_reserve_ms: int = 5000
    send_over_s: float = 30.0  # traffic arrives over this long, not all at once
    rates: FaultRates = field(default_factory=FaultRates)
    output_dir: Path | None = OUTPUT_DIR


@dataclass
class ChaosReport:
    options: ChaosOptions
    workload: Workload
    deliveries: dict[str, int]
    faults: dict[str, int]
    invocations: dict[str, int]
    overran_at: dict[str, int]
    outcomes: dict[str, int]
    emulator_calls: dict[str, int]
    invariants: list[InvariantResult]
    elapsed_s: float
    evidence: Evidence  # everything read back, for a closer look when an invariant fails

    @property
    def holds(self) -> bool:
        return all(result.holds for result in self.invariants)


def _stack_options(options: ChaosOptions, faults: InvocationFaults) -> LocalStackOptions:
    rate = str(options.update_rate_per_second)
    logs = options.output_dir / f"function-logs-seed{options.seed}" if options.output_dir else None
    return LocalStackOptions(
        name_prefix=f"chaos{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=options.visibility_timeout_s,
        function_timeout_s=options.function_timeout_s,
        workers=options.workers,
        emulator_profile=emulator_profile(
            options.rates, update_rate_per_second=options.update_rate_per_second, seed=options.seed
        ),
        fault_plan=faults,
        run_dir=logs,
        extra_environment={
            "UPDATE_RATE_PER_SECOND": rate,
            "UPDATE_BURST": "2",
            "TIME_RESERVE_MS": str(options.time_reserve_ms),
        },
    )


def _import_image_sets(stack: LocalStack, count: int) -> list[ImageSetTarget]:
    service = stack.emulator.service
    targets = []
    for index in range(count):
        path = str(get_testdata_file(SAMPLE_FILES[index % len(SAMPLE_FILES)]))
        for image_set_id in service.import_dicom_files(stack.datastore_id, [path]):
            patient = service.current_metadata(stack.datastore_id, image_set_id)["Patient"]["DICOM"]
            targets.append(ImageSetTarget(image_set_id, str(patient.get("PatientID", ""))))
    return targets


def _body_key() -> Callable[[str], str]:
    task_root_importable()  # the soak keys requests the way the updater does
    from updater.domain.outcome import body_request_id  # noqa: PLC0415

    return body_request_id


def run_chaos(options: ChaosOptions) -> ChaosReport:
    started = time.monotonic()
    rng = random.Random(options.seed)
    faults = InvocationFaults(
        options.rates,
        seed=options.seed,
        timeout_s=options.function_timeout_s,
    )
    stack_options = _stack_options(options, faults)
    with LocalStack(stack_options) as stack:
        assert stack.topology is not None
        targets = _import_image_sets(stack, options.image_sets)
        builder = WorkloadBuilder(
            rng,
            stack.datastore_id,
            targets,
            run=f"s{options.seed}",
            body_key=_body_key(),
        )
        workload = builder.build(options.requests)
        bursts = ThrottleBursts(stack.emulator.service, stack_options.emulator_profile, options.rates).start()
        outages = MotoOutages(stack.moto, options.rates)
        deadline = started + options.minutes * 60
        try:
            deliveries = send_workload(workload, stack.aws, stack.topology, rng, spread_s=options.send_over_s)
            outages.start()  # once the traffic is in: the sender stands for other services
            drained = _wait_until_drained(stack, deadline)
        finally:
            outages.stop()
            bursts.stop()
            for poller in stack.pollers:  # the evidence is read from a system at rest
                poller.stop()
        evidence = collect(
            stack.aws,
            stack.topology,
            stack.emulator.service,
            stack.datastore_id,
            [t.image_set_id for t in targets],
        )
        evidence.drained_in_time = drained
        evidence.invocations = stack.invocations()
        evidence.handler_output = stack.function_logs()
        if options.output_dir is not None:
            output = options.output_dir / f"handler-output-seed{options.seed}.log"
            output.write_text(evidence.handler_output, encoding="utf-8")
        return ChaosReport(
            options=options,
            workload=workload,
            deliveries=deliveries,
            faults=_faults(faults, bursts, evidence, stack, options) | {"moto_outages": outages.outages},
            invocations=dict(Counter(_invocation_label(r) for r in evidence.invocations)),
            overran_at=_overran_at(evidence.invocations),
            outcomes=outcome_counts(evidence),
            emulator_calls=stack.emulator.service.call_log.call_counts(),
            invariants=check_all(workload, evidence),
            elapsed_s=time.monotonic() - started,
            evidence=evidence,
        )


def _invocation_label(record: InvocationRecord) -> str:
    return f"{record.status}:{record.error_type}" if record.error_type else str(record.status)


def _overran_at(records: list[InvocationRecord]) -> dict[str, int]:
    """Where the handlers that overran their timeout were stopped: the most frequent places."""
    stopped = Counter(r.stopped_at or "?" for r in records if r.status == "timed_out")
    return dict(stopped.most_common(8))


def _wait_until_drained(stack: LocalStack, deadline: float) -> bool:
    try:
        wait_until_idle(stack.pollers, max(1.0, deadline - time.monotonic()))
    except TimeoutError:
        return False
    return True


def _faults(
    faults: InvocationFaults,
    bursts: ThrottleBursts,
    evidence: Evidence,
    stack: LocalStack,
    options: ChaosOptions,
) -> dict[str, int]:
    call_log = stack.emulator.service.call_log
    budget_s = options.function_timeout_s - options.time_reserve_ms / 1000
    versions = [v for history in evidence.histories.values() for v in history[1:]]
    counts = dict(faults.injected) | {
        "emulator_throttled_calls": sum(call_log.call_counts(error_code="ThrottlingException").values()),
        "emulator_5xx_calls": sum(call_log.call_counts(error_code="InternalServerException").values()),
        "emulator_conflicts": sum(call_log.call_counts(error_code="ConflictException").values()),
        "throttle_bursts": bursts.bursts,
        "update_failed_versions": sum(v.workflow_status == "UPDATE_FAILED" for v in versions),
        "settles_beyond_budget": sum(v.settle_s > budget_s for v in versions),
    }
    return dict(sorted(counts.items()))


def format_report(report: ChaosReport) -> str:
    options = report.options
    lines = [
        f"chaos soak: seed {options.seed}, {options.requests} requests over {options.image_sets} image sets, "
        f"{report.elapsed_s:.0f} s (budget {options.minutes:g} min), "
        f"update rate {options.update_rate_per_second:g}/s",
        _section("requests", report.workload.counts()),
        _section("deliveries", report.deliveries),
        _section("faults injected", report.faults),
        _section("invocations", report.invocations),
        _section("timed out in", report.overran_at),
        _section("outcomes", report.outcomes),
        _section("emulator calls", report.emulator_calls),
        "invariants:",
    ]
    for result in report.invariants:
        lines.append(f"  [{'PASS' if result.holds else 'FAIL'}] {result.name}: {result.detail}")
        lines.extend(f"         - {problem}" for problem in result.problems)
    lines.append("ALL INVARIANTS HOLD" if report.holds else "INVARIANTS VIOLATED")
    return "\n".join(lines)


def _section(title: str, counts: dict[str, int]) -> str:
    return f"{title}: " + (", ".join(f"{name} {count}" for name, count in counts.items()) or "none")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.chaos", description=__doc__.split("\n\n")[0])
    defaults = ChaosOptions()
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--requests", type=int, default=defaults.requests)
    parser.add_argument(
        "--minutes", type=float, default=defaults.minutes, help="time budget of the whole run"
    )
    parser.add_argument("--image-sets", type=int, default=defaults.image_sets)
    arguments = parser.parse_args(argv)
    options = ChaosOptions(
        seed=arguments.seed,
        requests=arguments.requests,
        minutes=arguments.minutes,
        image_sets=arguments.image_sets,
    )
    report = run_chaos(options)
    print(format_report(report))
    return 0 if report.holds else 1


if __name__ == "__main__":
    sys.exit(main())
