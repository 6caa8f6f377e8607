"""Applies a `BehaviourProfile` at run time: token buckets, fault dice, settle-time samples."""

from __future__ import annotations

import random
import threading

from local.healthimaging.clock import Clock
from local.healthimaging.errors import InternalServerException, ThrottlingException
from local.healthimaging.profile import BehaviourProfile, RateLimit


class TokenBucket:
    def __init__(self, limit: RateLimit, now: float) -> None:
        self._limit = limit
        self._tokens = limit.burst
        self._refilled_at = now

    def try_take(self, now: float) -> bool:
        elapsed = max(0.0, now - self._refilled_at)
        self._tokens = min(self._limit.burst, self._tokens + elapsed * self._limit.rate_per_second)
        self._refilled_at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class BehaviourRuntime:
    """Thread-safe; replacing the profile resets buckets and reseeds the dice."""

    def __init__(self, profile: BehaviourProfile, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._profile = profile
        self._random = random.Random(profile.seed)
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def profile(self) -> BehaviourProfile:
        with self._lock:
            return self._profile

    def set_profile(self, profile: BehaviourProfile) -> None:
        with self._lock:
            self._profile = profile
            self._random = random.Random(profile.seed)
            self._buckets = {}

    def admit(self, operation: str) -> None:
        """Raise the throttle or 5xx this call draws, after any injected latency."""
        latency = self._draw_latency(operation)
        if latency > 0:
            self._clock.sleep(latency)
        with self._lock:
            faults = self._profile.faults
            if not self._take_token(operation):
                raise ThrottlingException(f"Rate exceeded for {operation}")
            if faults.applies_to(operation) and self._random.random() < faults.throttle_probability:
                raise ThrottlingException(f"Rate exceeded for {operation} (injected)")
            if faults.applies_to(operation) and self._random.random() < faults.internal_error_probability:
                raise InternalServerException(f"Internal failure in {operation} (injected)")

    def _draw_latency(self, operation: str) -> float:
        with self._lock:
            faults = self._profile.faults
            if faults.applies_to(operation) and self._random.random() < faults.extra_latency_probability:
                return faults.extra_latency_seconds
            return 0.0

    def _take_token(self, operation: str) -> bool:
        limit = self._profile.rate_limits.get(operation)
        if limit is None:
            return True
        bucket = self._buckets.get(operation)
        if bucket is None:
            bucket = self._buckets[operation] = TokenBucket(limit, self._clock.now())
        return bucket.try_take(self._clock.now())

    def settle_seconds(self) -> float:
        with self._lock:
            settle = self._profile.settle
            return self._random.lognormvariate(settle.mu, settle.sigma)

    def update_fails(self) -> bool:
        with self._lock:
            return self._random.random() < self._profile.faults.update_failure_probability
