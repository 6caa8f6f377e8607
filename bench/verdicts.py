"""Issue 16's targets, judged on a summary (`bench.summary`): each one met, MISSED, or not run.

The bench measures and writes; it never fails on a target (that is the updater's work to meet).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

QUOTA_SHARE = 0.9
GET_IMAGE_SET_PER_UPDATE = 1.5
GET_METADATA_PER_REQUEST = 1.0
NOTICE_SHARE = 0.1
COLD_START_RATIO = 2.0

Entry = dict[str, Any]


@dataclass(frozen=True)
class Target:
    profile: str
    workload: str
    text: str
    judge: Callable[[Entry, Entry], tuple[bool, str]]  # (ours, naive) -> (met, what was measured)


def _share(ours: Entry, _naive: Entry) -> tuple[bool, str]:
    share = ours["updateCallsShareOfQuota"] or 0.0
    return share >= QUOTA_SHARE, f"{share:.0%} of the quota"


def _reads(ours: Entry, _naive: Entry) -> tuple[bool, str]:
    per_update, per_request = ours["getImageSetPerUpdate"], ours["getImageSetMetadataPerUpdate"]
    met = (per_update or 0) <= GET_IMAGE_SET_PER_UPDATE and (per_request or 0) <= GET_METADATA_PER_REQUEST
    return met, f"GetImageSet {per_update}/update, GetImageSetMetadata {per_request}/request"


def _no_throttles(ours: Entry, _naive: Entry) -> tuple[bool, str]:
    throttled = {op: n for op, n in ours["throttles"].items() if n}
    return not throttled, ", ".join(f"{op} {n}" for op, n in throttled.items()) or "none"


def _clean(ours: Entry, _naive: Entry) -> tuple[bool, str]:
    return ours["lost"] == ours["doubled"] == 0, f"lost {ours['lost']}, doubled {ours['doubled']}"


def _notice(ours: Entry, _naive: Entry) -> tuple[bool, str]:
    share = ours["settleNoticeLagP50Share"]
    return share is not None and share <= NOTICE_SHARE, f"median lag {share} of the settle time"


def _cheaper(ours: Entry, naive: Entry) -> tuple[bool, str]:
    mine, theirs = ours["lambdaSecondsPerRequest"], naive["lambdaSecondsPerRequest"]
    return mine < theirs, f"{mine} s vs naive {theirs} s"


def _faster(ours: Entry, naive: Entry) -> tuple[bool, str]:
    mine, theirs = ours["requestsPerSecond"], naive["requestsPerSecond"]
    return mine > theirs, f"{mine}/s vs naive {theirs}/s"


def _coalesced(ours: Entry, _naive: Entry) -> tuple[bool, str]:
    return ours["updateCalls"] < ours["requests"], f"{ours['updateCalls']} calls for {ours['requests']}"


TARGETS = (
    Target("current", "spread", "update calls >= 90% of the quota while work is queued", _share),
    Target(
        "current", "spread", "GetImageSet <= 1.5 per update, GetImageSetMetadata <= 1 per request", _reads
    ),
    Target("current", "spread", "0 throttles of any operation", _no_throttles),
    Target("current", "spread", "0 lost, 0 doubled", _clean),
    Target("current", "spread", "settle noticed within 10% of its settle time (median)", _notice),
    Target("current", "spread", "Lambda seconds per request below the naive loop's", _cheaper),
    Target("current", "hammer", "more requests finished per second than the naive loop", _faster),
    Target("current", "hammer", "fewer update calls than requests (coalescing)", _coalesced),
    Target("current", "hammer", "0 lost, 0 doubled", _clean),
    Target("legacy", "spread", "update calls >= 90% of the quota while work is queued", _share),
    Target("legacy", "spread", "0 throttles of any operation", _no_throttles),
)


def verdicts(summary: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for target in TARGETS:
        runs = summary["profiles"].get(target.profile, {}).get(target.workload, {})
        label = f"{target.profile} / {target.workload}: {target.text}"
        try:
            met, measured = target.judge(runs["ours"], runs.get("naive", {}))
        except KeyError:  # that workload or updater was not run
            rows.append({"target": label, "measured": "not run", "verdict": "-"})
            continue
        rows.append({"target": label, "measured": measured, "verdict": "met" if met else "MISSED"})
    cold = summary.get("coldStart")
    if cold:
        measured = f"slowest {cold['updaterInitMs']} ms vs {cold['bareBoto3InitMs']} ms = {cold['ratio']}x"
        rows.append({
            "target": "cold start of the updater's functions <= 2x a bare boto3 handler (median)",
            "measured": measured,
            "verdict": "met" if cold["ratio"] <= COLD_START_RATIO else "MISSED",
        })  # fmt: skip
    return rows
