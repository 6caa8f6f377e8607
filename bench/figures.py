"""Turns one run's observations into the figures issue 7 asks for."""

from __future__ import annotations

import statistics
from typing import Any

from bench.integrity import check_integrity
from bench.run import RunObservation
from bench.settings import (
    ARM64_PRICE_PER_GB_S,
    ARM64_PRICE_PER_MILLION_REQUESTS,
    UPDATE_OPERATION,
    BenchSettings,
)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _distribution(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": _rounded(percentile(values, 0.5)),
        "p99": _rounded(percentile(values, 0.99)),
        "mean": _rounded(statistics.fmean(values)) if values else None,
    }


def settle_times(observation: RunObservation) -> dict[tuple[str, str], tuple[float, float]]:
    """(image set, version) -> (accepted at, settled at), from the emulator's version history."""
    settled = {}
    for image_set_id, versions in observation.histories.items():
        for version in versions[1:]:
            settled[(image_set_id, version.version_id)] = (version.created_at, version.updated_at)
    return settled


def request_versions(observation: RunObservation) -> dict[str, tuple[str, str]]:
    """request id -> the (image set, version) whose settle it waited for: the first holding its change."""
    found: dict[str, tuple[str, str]] = {}
    for request in observation.planned:
        level, keyword, value = request.changes[0]
        for version in observation.histories[request.image_set_id][1:]:
            if version.document.get(level, {}).get("DICOM", {}).get(keyword) == value:
                found[request.request_id] = (request.image_set_id, version.version_id)
                break
    return found


def latency_figures(observation: RunObservation) -> dict[str, Any]:
    settles = settle_times(observation)
    versions = request_versions(observation)
    end_to_end, overhead = [], []
    for request_id, finished in observation.finished_at.items():
        if request_id not in observation.sent_at or request_id not in versions:
            continue
        total = finished - observation.sent_at[request_id]
        accepted, settled = settles[versions[request_id]]
        end_to_end.append(total)
        overhead.append(total - (settled - accepted))
    return {
        "endToEndS": _distribution(end_to_end),
        "minusSettleS": _distribution(overhead),
        "raw": [round(v, 3) for v in end_to_end],
    }


def _first_outcomes(observation: RunObservation) -> dict[tuple[str, str], float]:
    """(image set, version) -> when the first outcome of a request it holds was known."""
    first: dict[tuple[str, str], float] = {}
    for request_id, key in request_versions(observation).items():
        finished = observation.finished_at.get(request_id)
        if finished is not None:
            first[key] = min(finished, first.get(key, finished))
    return first


def notice_figures(observation: RunObservation) -> dict[str, Any]:
    """Settle-to-notice lag: from the version settling to the updater knowing it did.

    The updater knows either from a GetImageSet answer showing the version settled, or (when the
    emulator's settle event reached it first and it never read) from the event itself; the event's
    arrival in the lane is not visible from outside, so the outcome's time stands for it (an upper
    bound). `noticedBy` counts which of the two each version's figure came from.
    """
    settles = settle_times(observation)
    outcomes = _first_outcomes(observation)
    lags, shares, polls = [], [], []
    noticed_by = {"getImageSet": 0, "outcome": 0}
    for key, watch in observation.observer.versions.items():
        if key not in settles:
            continue
        accepted, settled = settles[key]
        polls.append(watch.polls)
        noticed_at = watch.noticed_at
        if noticed_at is not None:
            noticed_by["getImageSet"] += 1
        elif key in outcomes:
            noticed_at = outcomes[key]
            noticed_by["outcome"] += 1
        if noticed_at is not None:
            lags.append(max(noticed_at - settled, 0.0))
            shares.append(max(noticed_at - settled, 0.0) / max(settled - accepted, 1e-6))
    return {
        "settleS": _distribution([settled - accepted for accepted, settled in settles.values()]),
        "lagS": _distribution(lags),
        "lagShareOfSettle": _distribution(shares),
        "pollsPerUpdateCall": _distribution([float(p) for p in polls]),
        "noticedBy": noticed_by,
    }


def throughput_figures(observation: RunObservation, settings: BenchSettings) -> dict[str, Any]:
    quota = settings.update_quota_per_s
    accepted = observation.accepted_updates
    finished = len(observation.finished_at)
    window = (accepted[-1] - accepted[0] + 1 / quota) if accepted else None
    first_sent = min(observation.sent_at.values())
    span = max(observation.finished_at.values()) - first_sent if observation.finished_at else None
    calls_per_s = len(accepted) / window if window else None
    requests_per_s = finished / span if span else None
    return {
        "updateCallsPerS": _rounded(calls_per_s),
        "updateCallsShareOfQuota": _rounded(calls_per_s / quota if calls_per_s else None),
        "requestsPerS": _rounded(requests_per_s),
        "requestsShareOfQuota": _rounded(requests_per_s / quota if requests_per_s else None),
        "requestsPerMinute": _rounded(requests_per_s * 60 if requests_per_s else None, 1),
        "quotaPerS": quota,
    }


def lambda_figures(observation: RunObservation, settings: BenchSettings) -> dict[str, Any]:
    finished = max(1, len(observation.finished_at))
    lambda_s = sum(record.duration_s for record in observation.invocations)
    gb_s_per_request = lambda_s / finished * settings.memory_mb / 1024
    invocations_per_request = len(observation.invocations) / finished
    return {
        "invocations": len(observation.invocations),
        "lambdaSeconds": round(lambda_s, 2),
        "lambdaSecondsPerRequest": round(lambda_s / finished, 3),
        "gbSecondsPerRequest": round(gb_s_per_request, 4),
        "costPerMillionUpdatesUsd": round(
            gb_s_per_request * ARM64_PRICE_PER_GB_S * 1e6
            + invocations_per_request * ARM64_PRICE_PER_MILLION_REQUESTS,
            2,
        ),
    }


def call_figures(observation: RunObservation) -> dict[str, Any]:
    finished = max(1, len(observation.finished_at))
    errors = observation.error_counts
    return {
        "perRequest": {op: round(n / finished, 2) for op, n in sorted(observation.call_counts.items())},
        "totals": dict(sorted(observation.call_counts.items())),
        "throttles": sum(errors.get("ThrottlingException", {}).values()),
        "conflicts": errors.get("ConflictException", {}).get(UPDATE_OPERATION, 0),
        "errors": errors,
    }


def run_figures(observation: RunObservation, settings: BenchSettings) -> dict[str, Any]:
    succeeded = {r for r, status in observation.statuses.items() if status == "SUCCEEDED"}
    integrity = check_integrity(observation.planned, observation.histories, succeeded)
    latency = latency_figures(observation)
    raw_latencies = latency.pop("raw")
    figures: dict[str, Any] = {
        "updater": observation.updater,
        "requests": len(observation.planned),
        "finished": len(observation.finished_at),
        "succeeded": len(succeeded),
        "coalescedRequests": observation.coalesced,
        "updateCallsAccepted": len(observation.accepted_updates),
        "capped": observation.capped,
        "wallS": round(observation.wall_s, 2),
        "benchProcessCpuS": round(observation.bench_cpu_s, 2),
        "dlqMessages": observation.dlq_messages,
        "throughput": throughput_figures(observation, settings),
        "latency": latency,
        "notice": notice_figures(observation),
        "calls": call_figures(observation),
        "integrity": integrity.as_json(),
        "lambda": lambda_figures(observation, settings),
        "raw": {"timeline": timeline(observation), "latenciesS": raw_latencies},
    }
    return figures


def timeline(observation: RunObservation) -> dict[str, list[float]]:
    """Seconds since the first send, for the throughput-over-time chart."""
    start = min(observation.sent_at.values())
    return {
        "finished": sorted(round(t - start, 3) for t in observation.finished_at.values()),
        "updateCalls": [round(t - start, 3) for t in observation.accepted_updates],
    }
