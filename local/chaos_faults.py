"""Faults the chaos soak injects: into invocations (cut off mid-way, response lost) and into the
HealthImaging emulator (5xx, throttling bursts, UPDATE_FAILED versions, settles that outlast the
function's budget, extra latency).

Decisions come from seeded generators, so a run with the same seed injects the same kinds of fault at
the same rates; which batch or call a fault lands on still depends on thread timing.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from local.healthimaging.profile import BehaviourProfile, FaultInjection, RateLimit, SettleTime
from local.invocation_faults import InvocationFault, PlannedInvocation

# Calls the soak makes 5xx/throttling faults on; settle and UPDATE_FAILED apply to every update.
FAULTED_OPERATIONS = ["GetImageSet", "GetImageSetMetadata", "UpdateImageSetMetadata"]


@dataclass(frozen=True)
class FaultRates:
    cut_off: float = 0.08  # share of invocations stopped mid-way, like a Lambda timeout or crash
    lose_response: float = 0.04  # share whose answer is lost: the whole batch comes again
    internal_error: float = 0.02
    throttle: float = 0.02
    update_failure: float = 0.03
    extra_latency: float = 0.02
    extra_latency_s: float = 0.4
    # Settle times: a log-normal whose long tail passes the function's budget now and then.
    settle_median_s: float = 0.15
    settle_p99_s: float = 6.0
    # Throttling bursts: every `burst_every_s`, `burst_s` seconds in which most calls are throttled.
    burst_every_s: float = 12.0
    burst_s: float = 1.5
    burst_throttle: float = 0.7
    # Outages of moto (SQS, DynamoDB, EventBridge all at once), once the traffic is in.
    moto_outage_every_s: float = 30.0
    moto_outage_s: float = 1.5


def emulator_profile(rates: FaultRates, *, update_rate_per_second: float, seed: int) -> BehaviourProfile:
    return BehaviourProfile(
        settle=SettleTime(median_seconds=rates.settle_median_s, p99_seconds=rates.settle_p99_s),
        rate_limits={
            "UpdateImageSetMetadata": RateLimit(rate_per_second=update_rate_per_second, burst=2),
        },
        faults=FaultInjection(
            internal_error_probability=rates.internal_error,
            throttle_probability=rates.throttle,
            update_failure_probability=rates.update_failure,
            extra_latency_probability=rates.extra_latency,
            extra_latency_seconds=rates.extra_latency_s,
            operations=FAULTED_OPERATIONS,
        ),
        seed=seed,
    )


class InvocationFaults:
    """A `FaultPlan` for the local event sources: any invocation of any function, on any delivery.

    A message whose deliveries a fault uses up is moved by SQS to its redrive DLQ, where the
    finalizer must end it with a reason: the soak checks that, it does not avoid it.
    """

    def __init__(self, rates: FaultRates, *, seed: int, timeout_s: float) -> None:
        self._rates = rates
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._timeout_s = timeout_s
        self.injected: Counter[str] = Counter()

    def __call__(self, planned: PlannedInvocation) -> InvocationFault | None:
        with self._lock:
            draw = self._rng.random()
            if draw < self._rates.cut_off:
                self.injected["invocation_cut_off"] += 1
                # Anywhere from validation to publishing: short cuts land before the update call,
                # longer ones during or after it (settle polling, outcome recording).
                return InvocationFault(cut_off_after_s=self._rng.uniform(0.02, self._timeout_s * 0.6))
            if draw < self._rates.cut_off + self._rates.lose_response:
                self.injected["invocation_response_lost"] += 1
                return InvocationFault(lose_response=True)
            return None


class ThrottleBursts:
    """Switches the emulator into heavy throttling for short bursts, on a background thread."""

    def __init__(self, service: object, base: BehaviourProfile, rates: FaultRates) -> None:
        self._service = service
        self._base = base
        self._rates = rates
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-throttle-bursts", daemon=True)
        self.bursts = 0

    def start(self) -> ThrottleBursts:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._set(self._base)

    def _run(self) -> None:
        while not self._stop.wait(self._rates.burst_every_s):
            self.bursts += 1
            burst_faults = self._base.faults.model_copy(
                update={"throttle_probability": self._rates.burst_throttle}
            )
            # A new seed per burst: set_profile reseeds the emulator's dice.
            seed = (self._base.seed or 0) + self.bursts
            self._set(self._base.model_copy(update={"faults": burst_faults, "seed": seed}))
            if self._stop.wait(self._rates.burst_s):
                return
            self._set(self._base.model_copy(update={"seed": seed + 1000}))

    def _set(self, profile: BehaviourProfile) -> None:
        self._service.set_profile(profile)  # type: ignore[attr-defined]


class MotoOutages:
    """Takes moto's server down for `moto_outage_s` every `moto_outage_every_s`, on a background
    thread: the ledger, queues and buses all unreachable at once, state kept (a regional blip)."""

    def __init__(self, moto: object, rates: FaultRates) -> None:
        self._moto = moto
        self._rates = rates
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-moto-outages", daemon=True)
        self.outages = 0

    def start(self) -> MotoOutages:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._rates.moto_outage_every_s):
            self.outages += 1
            self._moto.restart(self._rates.moto_outage_s)  # type: ignore[attr-defined]
