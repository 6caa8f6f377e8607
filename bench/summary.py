"""`bench/out/summary.json`: issue 16's figures per profile, workload and updater, and what each means.

    {"profiles": {"current": {"spread": {"ours": {...}, "naive": {...}}, "hammer": {...}},
                  "legacy": {...}},
     "runs": {"current": {"command", "startedAt", "machine", "settings"}, ...},
     "coldStart": {...}, "definitions": {...}}

A run replaces the profiles it ran and keeps the others from earlier runs (each profile's `runs`
entry says when and how it was produced), so `python -m bench --profile legacy` after `make bench`
updates only legacy's figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SUMMARY_FIELDS = (
    "requests", "finished", "lost", "doubled", "updateCallsShareOfQuota", "requestsPerSecond",
    "getImageSetPerUpdate", "getImageSetMetadataPerUpdate", "throttles", "e2eP50S", "e2eP99S",
    "lambdaSecondsPerRequest", "settleNoticeLagP50Share",
)  # fmt: skip
# Beside the fields: what a reader needs to judge them.
CONTEXT_FIELDS = ("imageSets", "updateCalls", "windowS", "capped", "failed", "outcomeLagP50Share")

DEFINITIONS: dict[str, str] = {
    "window": "from the first request sent to the last request finished (its outcome); a run cut off "
    "at its time cap ends its window when the bench stopped waiting, and only outcomes inside the "
    "window count as finished",
    "requests": "requests sent (each sets values no other request uses)",
    "finished": "requests with a terminal outcome inside the window: ours, its event on the outcome "
    "bus; naive, its log line after it saw its version settled",
    "lost": "requests reported SUCCEEDED whose change no version of the image set holds (emulator "
    "version history); unfinished requests of a cut-off run are not counted (finished < requests "
    "and capped say so)",
    "doubled": "requests whose change two versions applied (re-applied after being overwritten), "
    "plus versions that changed nothing (an empty re-application)",
    "updateCallsShareOfQuota": "accepted UpdateImageSetMetadata calls (emulator call log, no error) "
    "inside the window, per second of the window, divided by the profile's update quota rate",
    "requestsPerSecond": "finished / window seconds",
    "getImageSetPerUpdate": "GetImageSet calls in the emulator's call log (every answer, throttled "
    "ones included) / accepted UpdateImageSetMetadata calls",
    "getImageSetMetadataPerUpdate": "GetImageSetMetadata calls in the emulator's call log / requests "
    "(per request, not per update call: the issue's target is <= 1 per request)",
    "throttles": "ThrottlingException answers in the emulator's call log, by operation (a retry the "
    "SDK makes is another call)",
    "e2eP50S": "median of (outcome time - send time) over finished requests; ours: the outcome "
    "event's SentTimestamp on the capture queue; naive: its log line",
    "e2eP99S": "99th percentile of the same",
    "lambdaSecondsPerRequest": "sum of the durations of every invocation of every function the "
    "event source mappings made during the run / requests (warm-up invocations excluded)",
    "settleNoticeLagP50Share": "median over the versions update calls made of (notice - when the "
    "emulator settled the version) / (settle duration = settled - accepted). The notice is the "
    "first of: the emulator-side time of the first GetImageSet answer showing the version settled "
    "(the same instrument for both updaters), and, for ours, the time intake logged that it had "
    "recorded HealthImaging's settle event for that version on its lane (the log line's "
    "millisecond timestamp, written after the ledger write and the wake); with neither, the first "
    "outcome of its requests stands for it (an upper bound). noticedBy in results.json counts "
    "which each version used (getImageSet, settleEvent, outcome)",
    "outcomeLagP50Share": "median over versions of (first outcome of the requests it applied - "
    "settled) / settle duration",
    "capped": "the run hit its time cap before every request finished",
    "updateCalls": "accepted UpdateImageSetMetadata calls over the whole run",
    "windowS": "the window's length in seconds",
    "imageSets": "image sets the requests were spread over",
    "failed": "requests whose outcome was FAILED (explained failures, not lost)",
}


def entry(figures: dict[str, Any]) -> dict[str, Any]:
    """The summary fields of one run's figures, in the issue's order, then their context."""
    return {name: figures[name] for name in (*SUMMARY_FIELDS, *CONTEXT_FIELDS)}


def earlier_json(path: Path) -> dict[str, Any]:
    """What an earlier run wrote at `path`: {} when there is nothing there or it does not parse."""
    if not path.is_file():
        return {}
    try:
        earlier: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}
    return earlier


def merged(path: Path, results: dict[str, Any]) -> dict[str, Any]:
    """The summary of `results`, over the profiles an earlier summary at `path` holds."""
    previous = earlier_json(path)
    profiles = dict(previous.get("profiles", {}))
    runs = dict(previous.get("runs", {}))
    for name, run in results["profiles"].items():
        profiles[name] = {
            workload: {updater: entry(figures) for updater, figures in updaters.items()}
            for workload, updaters in run["workloads"].items()
        }
        runs[name] = {key: run[key] for key in ("command", "startedAt", "machine", "durationS", "settings")}
    return {
        "profiles": profiles,
        "runs": runs,
        "coldStart": results.get("coldStart") or previous.get("coldStart"),
        "definitions": DEFINITIONS,
    }


def write_summary(path: Path, results: dict[str, Any]) -> dict[str, Any]:
    summary = merged(path, results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary
