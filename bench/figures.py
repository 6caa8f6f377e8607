"""Turns one run's observations into figures: the summary fields of issue 16 and their detail.

Every figure is read from what the rig saw, not from what an updater says about itself: update
calls, reads and throttles from the emulator's call log; lost and doubled updates and settle times
from the emulator's version history (a version's `created_at` is when its update call was accepted,
`updated_at` when it settled); notices from the first GetImageSet answer that showed a version
settled, or, for a version the updater learned of from HealthImaging's settle event and never read
settled, from the first outcome of its requests; outcomes from the outcome bus (ours) or the naive
updater's log line. The definitions are in `bench.summary.DEFINITIONS`, which RESULTS.md prints.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.integrity import check_integrity
from bench.profiles import READ_QUOTAS, UPDATE_OPERATION
from bench.run import RunObservation
from bench.settings import ARM64_PRICE_PER_GB_S, ARM64_PRICE_PER_MILLION_REQUESTS, BenchSettings

VersionKey = tuple[str, str]
THROTTLED = "ThrottlingException"


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
        "n": len(values),
    }


def settle_times(observation: RunObservation) -> dict[VersionKey, tuple[float, float]]:
    """(image set, version) -> (accepted at, settled at) for every version an update call made."""
    return {
        (image_set_id, version.version_id): (version.created_at, version.updated_at)
        for image_set_id, versions in observation.histories.items()
        for version in versions[1:]
    }


def request_versions(observation: RunObservation) -> dict[str, VersionKey]:
    """request id -> the version that applied it: the first whose document holds its value."""
    found: dict[str, VersionKey] = {}
    for request in observation.planned:
        level, keyword, value = request.changes[0]
        for version in observation.histories[request.image_set_id][1:]:
            if version.document.get(level, {}).get("DICOM", {}).get(keyword) == value:
                found[request.request_id] = (request.image_set_id, version.version_id)
                break
    return found


def _share(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def throughput(observation: RunObservation, quota_per_s: float) -> dict[str, Any]:
    window = observation.window_s
    in_window = [
        t for t in observation.accepted_updates if observation.first_sent <= t <= observation.window_end
    ]
    calls_per_s = len(in_window) / window
    return {
        "windowS": round(window, 2),
        "updateCallsInWindow": len(in_window),
        "updateCallsPerS": round(calls_per_s, 3),
        "updateCallsShareOfQuota": _rounded(_share(calls_per_s, quota_per_s)),
        "requestsPerSecond": round(len(observation.finished_at) / window, 3),
        "quotaPerS": quota_per_s,
    }


def reads(observation: RunObservation) -> dict[str, Any]:
    counts = observation.call_counts
    updates = len(observation.accepted_updates)
    throttled = observation.error_counts.get(THROTTLED, {})
    limited = (UPDATE_OPERATION, *READ_QUOTAS)
    return {
        "getImageSetPerUpdate": _rounded(_share(counts.get("GetImageSet", 0), updates)),
        "getImageSetMetadataPerUpdate": _rounded(
            _share(counts.get("GetImageSetMetadata", 0), len(observation.planned))
        ),
        "throttles": {op: throttled.get(op, 0) for op in sorted({*limited, *throttled})},
        "callsByOperation": dict(sorted(counts.items())),
        "errorsByCode": observation.error_counts,
    }


def latency(observation: RunObservation) -> dict[str, Any]:
    """Send -> outcome, and where it went: until the applying call was accepted, the service's
    settle, settle -> notice (`_notices`), that notice -> outcome (medians)."""
    settles, versions, notices = (
        settle_times(observation),
        request_versions(observation),
        _notices(observation),
    )
    end_to_end: list[float] = []
    parts: dict[str, list[float]] = {"toCallS": [], "settleS": [], "toNoticeS": [], "noticeToOutcomeS": []}
    for request_id, finished in observation.finished_at.items():
        sent = observation.sent_at[request_id]
        end_to_end.append(finished - sent)
        key = versions.get(request_id)
        if key is None or key not in settles:
            continue
        accepted, settled = settles[key]
        parts["toCallS"].append(accepted - sent)
        parts["settleS"].append(settled - accepted)
        if key in notices:
            noticed_at = notices[key][0]
            parts["toNoticeS"].append(noticed_at - settled)
            parts["noticeToOutcomeS"].append(finished - noticed_at)
    return {
        "e2eP50S": _rounded(percentile(end_to_end, 0.5)),
        "e2eP99S": _rounded(percentile(end_to_end, 0.99)),
        "e2eBreakdownP50S": {name: _rounded(percentile(values, 0.5)) for name, values in parts.items()},
        "raw": [round(v, 3) for v in end_to_end],
    }


def _first_outcomes(observation: RunObservation) -> dict[VersionKey, float]:
    """(image set, version) -> when the first outcome of a request it holds was known."""
    first: dict[VersionKey, float] = {}
    for request_id, key in request_versions(observation).items():
        finished = observation.finished_at.get(request_id)
        if finished is not None:
            first[key] = min(finished, first.get(key, finished))
    return first


def _notices(observation: RunObservation) -> dict[VersionKey, tuple[float, str]]:
    """(image set, version) -> when the updater knew it settled, and how it learned.

    The updater knows from whichever came first: a GetImageSet answer showing the version settled
    (the emulator's side of the call), or HealthImaging's settle event, recorded on its lane by
    intake (intake's log line). With neither (the naive loop logs no events; a log lost), the first
    outcome of its requests stands for it: an upper bound, never before the settle.
    """
    settles, outcomes = settle_times(observation), _first_outcomes(observation)
    found: dict[VersionKey, tuple[float, str]] = {}
    for key, (_accepted, settled) in settles.items():
        watch = observation.observer.versions.get(key)
        seen = []
        if watch is not None and watch.noticed_at is not None:
            seen.append((watch.noticed_at, "getImageSet"))
        if key in observation.logged_notices:
            seen.append((max(observation.logged_notices[key], settled), "settleEvent"))
        if seen:
            found[key] = min(seen)
        elif key in outcomes:
            found[key] = (max(outcomes[key], settled), "outcome")
    return found


def notice(observation: RunObservation) -> dict[str, Any]:
    """Over the versions update calls made: (notice - when it settled) / (settled - accepted), the
    notice as `_notices` finds it; and the same with the first outcome of its requests instead."""
    settles, notices = settle_times(observation), _notices(observation)
    outcomes = _first_outcomes(observation)
    notice_shares, outcome_shares = [], []
    noticed_by = {"getImageSet": 0, "settleEvent": 0, "outcome": 0}
    for key, (accepted, settled) in settles.items():
        duration = max(settled - accepted, 1e-6)
        if key in notices:
            at, source = notices[key]
            noticed_by[source] += 1
            notice_shares.append(max(at - settled, 0.0) / duration)
        if key in outcomes:
            outcome_shares.append(max(outcomes[key] - settled, 0.0) / duration)
    polls = [float(w.polls) for w in observation.observer.versions.values()]
    return {
        "settleNoticeLagP50Share": _rounded(percentile(notice_shares, 0.5)),
        "outcomeLagP50Share": _rounded(percentile(outcome_shares, 0.5)),
        "noticedBy": noticed_by,
        "versionsNotNoticed": len(settles) - len(notice_shares),
        "settleS": _distribution([s - a for a, s in settles.values()]),
        "pollsUntilNoticedPerVersion": _distribution(polls),
    }


def lambda_cost(observation: RunObservation, settings: BenchSettings) -> dict[str, Any]:
    requests = max(1, len(observation.planned))
    by_function: dict[str, list[float]] = {}
    for record in observation.invocations:
        by_function.setdefault(record.function_name.rsplit("-", 1)[-1], []).append(record.duration_s)
    lambda_s = sum(sum(durations) for durations in by_function.values())
    gb_s = lambda_s / requests * settings.memory_mb / 1024
    return {
        "lambdaSecondsPerRequest": round(lambda_s / requests, 3),
        "invocations": {name: len(durations) for name, durations in sorted(by_function.items())},
        "lambdaSecondsByFunction": {n: round(sum(d), 2) for n, d in sorted(by_function.items())},
        "costPerMillionRequestsUsd": round(
            gb_s * ARM64_PRICE_PER_GB_S * 1e6
            + len(observation.invocations) / requests * ARM64_PRICE_PER_MILLION_REQUESTS,
            2,
        ),
    }


def run_figures(observation: RunObservation, settings: BenchSettings) -> dict[str, Any]:
    succeeded = {r for r, status in observation.statuses.items() if status == "SUCCEEDED"}
    integrity = check_integrity(
        observation.planned, observation.histories, succeeded, observation.reported_calls
    )
    quota = settings.update_quota_per_s(observation.profile)
    timing = latency(observation)
    return {
        "requests": len(observation.planned),
        "imageSets": observation.workload.image_sets,
        "finished": len(observation.finished_at),
        "failed": sum(1 for s in observation.statuses.values() if s != "SUCCEEDED"),
        "lost": integrity.lost,
        "doubled": integrity.doubled,
        "capped": observation.capped,
        "updateCalls": len(observation.accepted_updates),
        "coalescedRequests": observation.coalesced,
        **throughput(observation, quota),
        **reads(observation),
        **{k: v for k, v in timing.items() if k != "raw"},
        **notice(observation),
        **lambda_cost(observation, settings),
        "integrity": integrity.as_json(),
        "failuresQueueMessages": observation.failures_queue_messages,
        "workers": observation.workers,
        "rigCpu": observation.rig_cpu,
        "rigLatency": observation.rig_latency,
        "rigProfile": observation.rig_profile,
        "motoCalls": observation.moto_calls,
        "raw": {"timeline": timeline(observation), "latenciesS": timing["raw"]},
    }


def timeline(observation: RunObservation) -> dict[str, list[float]]:
    """Seconds since the first send, for the throughput-over-time chart."""
    start = observation.first_sent
    return {
        "finished": sorted(round(t - start, 3) for t in observation.finished_at.values()),
        "updateCalls": [round(t - start, 3) for t in observation.accepted_updates],
    }
