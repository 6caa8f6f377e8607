"""What one benchmark run looks like: the service profile, settle times, concurrency, time caps.

Quotas are the profile's own (`bench.profiles`), unscaled unless `quota_scale` says otherwise; the
emulator throttles at them and the updater's functions get the same update rate and burst
(UPDATE_RATE_PER_SECOND, UPDATE_BURST), as a stage configured for that account would. Settle
times are log-normal (median, p99) in real seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.profiles import DEFAULT_PROFILE, PROFILES, ServiceProfile
from local.healthimaging.profile import BehaviourProfile, SettleTime

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
# arm64 Lambda duration price, us-east-1, per GB-second (requests are billed separately).
ARM64_PRICE_PER_GB_S = 0.0000133334
ARM64_PRICE_PER_MILLION_REQUESTS = 0.20
# HealthImaging's model allows 30,000 bytes per blob; the 10 KB quota is raised for that workload.
MODEL_PAYLOAD_LIMIT_BYTES = 30_000
OURS, NAIVE = "ours", "naive"
# The updater's settings for its share of each read quota (lambdas/updater/settings.py).
READ_TPS_VARIABLES = {
    "GetImageSet": "GET_IMAGE_SET_TPS",
    "GetImageSetMetadata": "GET_IMAGE_SET_METADATA_TPS",
    "SearchImageSets": "SEARCH_IMAGE_SETS_TPS",
}
UPDATERS = (OURS, NAIVE)


@dataclass(frozen=True)
class BenchSettings:
    profiles: tuple[str, ...] = (DEFAULT_PROFILE,)
    quota_scale: float = 1.0
    settle_median_s: float = 1.0
    settle_p99_s: float = 4.0
    # Concurrent invocations per event source mapping, the same for both updaters and every
    # mapping; None: each mapping's own MaximumConcurrency from the stack (dev: intake 2, apply 4).
    workers: int | None = 16
    memory_mb: int = 512  # the dev stage's memorySizeMb, used for the cost estimate
    function_timeout_s: int = 60
    quick: bool = False
    updaters: tuple[str, ...] = UPDATERS
    cold_start_repeats: int = 7
    seed: int = 7
    # Seconds a workload may run before the bench stops waiting (the naive updater may never end).
    workload_cap_s: dict[str, float] = field(default_factory=lambda: {"current": 180.0, "legacy": 300.0})
    # Added to the functions' environment after the profile's (e.g. UPDATE_PACING_MARGIN_MS=20), so
    # the updater's stage settings can be tried without editing the stack.
    extra_environment: dict[str, str] = field(default_factory=dict)
    # moto's SQS long polls as moto has them (blind to messages becoming visible, spinning on FIFO
    # queues whose visible messages are all blocked); default: `bench.moto_prompt_receive`.
    moto_as_is: bool = False
    # Services moto serves from a process each of their own (local.moto_stack.MotoServer): DynamoDB
    # by default, half of moto's work in the bench's profile; () is one moto process for all.
    moto_own_processes: tuple[str, ...] = ("dynamodb",)
    # Sample py-spy stacks of the bench process and moto's during each workload (if installed).
    py_spy: bool = False
    # Count the calls moto's processes answer, by operation (bench.moto_call_counts).
    count_moto_calls: bool = False
    out_dir: Path = OUT_DIR

    def profile(self, name: str) -> ServiceProfile:
        return PROFILES[name]

    def update_quota_per_s(self, profile: str) -> float:
        return self.profile(profile).update_rate(self.quota_scale)

    def cap_s(self, profile: str) -> float:
        return self.workload_cap_s.get(profile, max(self.workload_cap_s.values()))

    def emulator_profile(self, profile: str, payload_limit_bytes: int) -> BehaviourProfile:
        return BehaviourProfile(
            settle=SettleTime(median_seconds=self.settle_median_s, p99_seconds=self.settle_p99_s),
            rate_limits=self.profile(profile).rate_limits(self.quota_scale),
            update_payload_limit_bytes=payload_limit_bytes,
            seed=self.seed,
        )

    def updater_environment(self, profile: str) -> dict[str, str]:
        """The stage settings a deployment for this account would have (the rest is the stack's).

        The read quotas are the profile's; FUNCTION_CONCURRENCY is the busy mappings' `workers`, as
        a stage reserving that concurrency would set it: each environment's read budget is the
        share over that many (adapters.read_budget), so the stack's own value (apply: 4) would let
        16 environments read four times their share."""
        limits = self.profile(profile).rate_limits(self.quota_scale)
        environment = {
            "UPDATE_RATE_PER_SECOND": repr(self.update_quota_per_s(profile)),
            "UPDATE_BURST": str(self.profile(profile).update_burst),
            **{variable: repr(limits[op].rate_per_second) for op, variable in READ_TPS_VARIABLES.items()},
        }
        if self.workers is not None:
            environment["FUNCTION_CONCURRENCY"] = str(self.workers)
        return environment

    def described(self, profile: str) -> dict[str, object]:
        limits = self.profile(profile).rate_limits(self.quota_scale)
        return {
            "profile": profile,
            "quotaScale": self.quota_scale,
            "rateLimits": {
                op: {"ratePerSecond": r.rate_per_second, "burst": r.burst} for op, r in limits.items()
            },
            "updateQuotaPerSecond": self.update_quota_per_s(profile),
            "updaterEnvironment": self.updater_environment(profile) | self.extra_environment,
            "settleMedianSeconds": self.settle_median_s,
            "settleP99Seconds": self.settle_p99_s,
            "workers": self.workers if self.workers is not None else "stack",
            "motoLongPoll": "as moto has it" if self.moto_as_is else "bench.moto_prompt_receive",
            "motoOwnProcesses": list(self.moto_own_processes),
            "memoryMb": self.memory_mb,
            "functionTimeoutSeconds": self.function_timeout_s,
            "quick": self.quick,
            "seed": self.seed,
            "workloadCapSeconds": self.cap_s(profile),
        }
