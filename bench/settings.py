"""What one benchmark run looks like: quota scale, settle time, concurrency, workload sizes.

The real UpdateImageSetMetadata quota (0.25/s) makes 1,000 requests take over an hour, so every TPS
quota is multiplied by `quota_scale` (UpdateImageSetMetadata 0.25/s x 40 = 10/s, GetImageSet
25/s x 40 = 1000/s) in the emulator and in the updater's pacer alike. Settle time, sleeps and
timeouts stay in real seconds. Throughput is therefore reported as a fraction of the *scaled* quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from local.healthimaging.profile import REAL_SERVICE_QUOTAS, BehaviourProfile, RateLimit, SettleTime

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
# arm64 Lambda duration price, us-east-1, per GB-second (requests are billed separately).
ARM64_PRICE_PER_GB_S = 0.0000133334
ARM64_PRICE_PER_MILLION_REQUESTS = 0.20
UPDATE_OPERATION = "UpdateImageSetMetadata"
# HealthImaging's model allows 30,000 bytes per blob; the 10 KB quota is raised for that workload.
MODEL_PAYLOAD_LIMIT_BYTES = 30_000


@dataclass(frozen=True)
class BenchSettings:
    quota_scale: float = 40.0
    settle_median_s: float = 1.0
    settle_p99_s: float = 4.0
    workers: int = 16  # concurrent invocations of the event source mapping, same for both updaters
    memory_mb: int = 512  # the dev stage's memorySizeMb, used for the cost estimate
    function_timeout_s: int = 60
    quick: bool = False
    issue_sizes: bool = False
    cold_start_repeats: int = 7
    seed: int = 7
    # Stop a workload that has not finished by then (the naive updater may never finish).
    workload_cap_s: float = 150.0
    out_dir: Path = OUT_DIR

    @property
    def update_quota_per_s(self) -> float:
        return REAL_SERVICE_QUOTAS[UPDATE_OPERATION].rate_per_second * self.quota_scale

    def scaled_quotas(self) -> dict[str, RateLimit]:
        return {
            operation: RateLimit(rate_per_second=limit.rate_per_second * self.quota_scale, burst=limit.burst)
            for operation, limit in REAL_SERVICE_QUOTAS.items()
        }

    def emulator_profile(self, payload_limit_bytes: int) -> BehaviourProfile:
        return BehaviourProfile(
            settle=SettleTime(median_seconds=self.settle_median_s, p99_seconds=self.settle_p99_s),
            rate_limits=self.scaled_quotas(),
            update_payload_limit_bytes=payload_limit_bytes,
            seed=self.seed,
        )

    def described(self) -> dict[str, object]:
        return {
            "quotaScale": self.quota_scale,
            "updateQuotaPerSecond": self.update_quota_per_s,
            "realUpdateQuotaPerSecond": REAL_SERVICE_QUOTAS[UPDATE_OPERATION].rate_per_second,
            "settleMedianSeconds": self.settle_median_s,
            "settleP99Seconds": self.settle_p99_s,
            "workers": self.workers,
            "memoryMb": self.memory_mb,
            "functionTimeoutSeconds": self.function_timeout_s,
            "quick": self.quick,
            "issueSizes": self.issue_sizes,
            "seed": self.seed,
            "workloadCapSeconds": self.workload_cap_s,
        }
