"""The updater's promises, checked against what the soak read back (`chaos_evidence.Evidence`).

Each check returns an `InvariantResult`: whether it holds, a one-line account, and the first few
offending request or image set ids (never values) to start debugging from.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from local.chaos_evidence import Evidence
from local.chaos_order import fifo_requests_applied_in_send_order
from local.chaos_results import InvariantResult, result
from local.chaos_workload import ATTRIBUTES, Kind, Workload
from local.lambda_invocation import InvocationStatus

TERMINAL = {"SUCCEEDED", "FAILED"}
FAILURES_ROLE = "failures"


_result = result


def one_terminal_outcome_per_request(workload: Workload, evidence: Evidence) -> InvariantResult:
    """Exactly one outcome per requestId. Its event may be delivered twice, identical: an invocation
    stopped between PutEvents and the ledger's `published` flag makes the redelivery publish the
    stored outcome again (EventBridge has no idempotent put), so consumers key on requestId."""
    contents: defaultdict[str, list[str]] = defaultdict(list)
    for outcome in evidence.outcomes():
        contents[outcome["requestId"]].append(json.dumps(outcome, sort_keys=True))
    expected = workload.by_key()
    lost = [key for key in expected if not contents[key]]
    conflicting = [
        f"{key}: {len(set(contents[key]))} different outcomes"
        for key in expected
        if len(set(contents[key])) > 1
    ]
    strangers = [key for key in contents if key not in expected and contents[key]]
    republished = sum(len(events) - 1 for events in contents.values() if events)
    detail = (
        f"{len(expected)} distinct requestIds, {sum(map(len, contents.values()))} outcome events; "
        f"lost {len(lost)}, conflicting {len(conflicting)}, unexpected {len(strangers)}, "
        f"identical re-publications {republished}"
    )
    return _result("one terminal outcome per requestId", lost + conflicting + strangers, detail)


def bad_inputs_get_their_reason(workload: Workload, evidence: Evidence) -> InvariantResult:
    codes = {o["requestId"]: o.get("errorCode") for o in evidence.outcomes()}
    bad = [r for r in workload.requests if r.kind is Kind.BAD]
    wrong = [
        f"{r.key}: {codes.get(r.key)} != {r.expected_code}"
        for r in bad
        if codes.get(r.key) != r.expected_code
    ]
    return _result("every bad input fails with its specific code", wrong, f"{len(bad)} bad inputs")


def ledger_agrees(workload: Workload, evidence: Evidence) -> InvariantResult:
    events = {o["requestId"]: o for o in evidence.outcomes()}
    problems = []
    for key in workload.by_key():
        item = evidence.ledger.get(f"req#{key}")
        if item is None or item.get("status") not in TERMINAL or not item.get("published"):
            problems.append(f"{key}: ledger {None if item is None else item.get('status')}")
            continue
        stored = json.loads(item["outcome"])
        event = events.get(key)
        if event is not None and (stored["status"], stored.get("to_version_id")) != (
            event["status"],
            event.get("toVersionId"),
        ):
            problems.append(f"{key}: ledger and event disagree")
    return _result("ledger holds the published outcome", problems, f"{len(evidence.ledger)} ledger items")


def _claimed_versions(evidence: Evidence) -> dict[str, dict[str, str]]:
    """Per image set, the versions outcomes say an update created, with the status they report."""
    claimed: dict[str, dict[str, str]] = defaultdict(dict)
    for outcome in evidence.outcomes():
        created = outcome["status"] == "SUCCEEDED" and not outcome.get("noop") and not outcome.get("dryRun")
        failed_version = outcome.get("errorCode") == "UPDATE_FAILED" and outcome.get("toVersionId")
        if created or failed_version:
            claimed[outcome["imageSetId"]][outcome["toVersionId"]] = outcome["status"]
    return claimed


def _explain_unclaimed(evidence: Evidence, image_set_id: str, version: str, status: str) -> str:
    """What the ledger says about the image set: its lane (an open call?) and entries left APPLIED."""
    lanes = [
        f"{pk}: call {item.get('callId', 'none')}"
        for pk, item in evidence.ledger.items()
        if pk.startswith("lane#") and pk.endswith(f"#{image_set_id}")
    ]
    applied = [
        pk
        for pk, item in evidence.ledger.items()
        if item.get("imageSetId") == image_set_id and item.get("applied")
    ]
    return (
        f"  version {version} ({status}): lane {lanes or 'none'}; entries marked APPLIED {applied or 'none'}"
    )


def versions_match_applied_updates(workload: Workload, evidence: Evidence) -> InvariantResult:
    claimed = _claimed_versions(evidence)
    problems, created_total = [], 0
    for image_set_id, history in evidence.histories.items():
        created = {v.version_id: v.workflow_status for v in history[1:]}
        created_total += len(created)
        mine = claimed.get(image_set_id, {})
        if set(created) != set(mine):
            problems.append(
                f"{image_set_id}: {len(created)} versions created, outcomes name {len(mine)} "
                f"(unclaimed {sorted(set(created) - set(mine))}, missing {sorted(set(mine) - set(created))})"
            )
            problems.extend(
                _explain_unclaimed(evidence, image_set_id, version, created[version])
                for version in sorted(set(created) - set(mine))
            )
            continue
        wrong = [v for v, status in mine.items() if (status == "SUCCEEDED") != (created[v] == "UPDATED")]
        if wrong:
            problems.append(f"{image_set_id}: versions {wrong} settled otherwise than reported")
    detail = f"{created_total} versions created, {sum(len(v) for v in claimed.values())} claimed by outcomes"
    return _result("versions created == applied non-no-op updates", problems, detail)


def failures_recorded_with_reason(workload: Workload, evidence: Evidence) -> InvariantResult:
    """Every FAILED outcome has its record on the failures queue, with the same code; nothing is
    left in any DLQ (the finalizer drains the redrive DLQs; its own DLQs mean a loss)."""
    failed = {o["requestId"]: o["errorCode"] for o in evidence.outcomes() if o["status"] == "FAILED"}
    records = [d for d in evidence.dead_letters if d.queue_role == FAILURES_ROLE]
    letters = Counter((d.attributes.get("requestId"), d.attributes.get("failureCode")) for d in records)
    missing = [key for key, code in failed.items() if letters[(key, code)] == 0]
    # A second identical record comes from the same window as a re-published outcome event.
    doubled = sum(count - 1 for (key, code), count in letters.items() if failed.get(str(key)) == code)
    not_failed = [
        f"{key}: {code} but not failed"
        for key, code in letters
        if key is not None and failed.get(str(key)) != code
    ]
    without_reason = [f"{d.queue_role}: no failureCode" for d in records if "failureCode" not in d.attributes]
    left_in_dlqs = [
        f"{d.queue_role}: a message left ({d.attributes.get('failureCode', 'no reason')})"
        for d in evidence.dead_letters
        if d.queue_role != FAILURES_ROLE
    ]
    detail = (
        f"{len(failed)} failed requests, {len(records)} failure records ({doubled} identical re-sends), "
        f"{len(left_in_dlqs)} messages left in DLQs"
    )
    return _result(
        "every failure recorded with its reason, nothing left in a DLQ",
        missing + not_failed + without_reason + left_in_dlqs,
        detail,
    )


def nothing_in_flight(workload: Workload, evidence: Evidence) -> InvariantResult:
    problems = [] if evidence.drained_in_time else ["queues not drained within the time budget"]
    problems += [f"{role}: {depth} messages" for role, depth in evidence.queue_depths.items() if depth]
    problems += [
        f"{pk}: {item.get('status')}"
        for pk, item in evidence.ledger.items()
        if pk.startswith("req#") and item.get("status") not in TERMINAL
    ]
    open_calls = [pk for pk, item in evidence.ledger.items() if pk.startswith("lane#") and item.get("callId")]
    problems += [f"{pk}: an update call left open" for pk in open_calls]
    lanes = sum(pk.startswith("lane#") for pk in evidence.ledger)
    return _result("nothing left in flight", problems, f"queue depths {evidence.queue_depths}; {lanes} lanes")


def no_values_leaked(workload: Workload, evidence: Evidence) -> InvariantResult:
    """Sentinel values must not appear in logs, metrics (both in the functions' output), outcome
    events, failure-record and DLQ message attributes or ledger items, keys included (a bad input's
    sentinel may sit where an id goes). Record bodies are the requests themselves, kept for a retry
    on purpose, and are not searched."""
    places = {
        "handler stdout (logs, EMF metrics)": evidence.handler_output,
        "outcome events": json.dumps(evidence.outcome_events),
        "failure record attributes": json.dumps([d.attributes for d in evidence.dead_letters]),
        "ledger items": json.dumps(evidence.ledger),
    }
    sentinels = workload.sentinels()
    problems = [
        f"{place}: {sum(s in text for s in sentinels)} values"
        for place, text in places.items()
        if any(s in text for s in sentinels)
    ]
    sizes = ", ".join(f"{place} {len(text)} chars" for place, text in places.items())
    return _result(
        "no attribute value in logs, metrics or events", problems, f"{len(sentinels)} sentinels; {sizes}"
    )


def handler_never_crashed(workload: Workload, evidence: Evidence) -> InvariantResult:
    # Powertools raises BatchProcessingError by design when every record of a batch failed
    # (all transient): the whole batch is delivered again. Anything else escaping is a crash.
    statuses = Counter(
        record.status for record in evidence.invocations if record.error_type != "BatchProcessingError"
    )
    problems = [f"raised: {statuses[InvocationStatus.RAISED]}"] if statuses[InvocationStatus.RAISED] else []
    # A response naming records outside the batch makes Lambda fail the whole batch.
    invalid = sum(record.verdict.error == "InvalidBatchResponse" for record in evidence.invocations)
    problems += [f"invalid batch responses: {invalid}"] if invalid else []
    # Overrunning the timeout is reported, not failed: one SDK call retrying through a throttling
    # burst can outlast the time reserve, and the ledger makes the redelivered batch harmless.
    detail = (
        f"{len(evidence.invocations)} invocations, {statuses[InvocationStatus.TIMED_OUT]} overran the timeout"
    )
    return _result("handler never raised, every batch response valid", problems, detail)


def final_values_come_from_succeeded_requests(workload: Workload, evidence: Evidence) -> InvariantResult:
    """An attribute's final value is the imported one or a value of a request that succeeded there."""
    succeeded = {
        o["requestId"] for o in evidence.outcomes() if o["status"] == "SUCCEEDED" and not o.get("dryRun")
    }
    allowed: dict[str, set[str]] = defaultdict(set)
    for request in workload.requests:
        if request.key in succeeded and request.image_set_id and request.kind is not Kind.BAD:
            allowed[request.image_set_id].update(request.sentinels)
    problems = []
    for image_set_id, history in evidence.histories.items():
        original, latest = history[0].document, history[-1].document
        for level, keyword in ATTRIBUTES:
            value = latest.get(level, {}).get("DICOM", {}).get(keyword)
            if (
                value != original.get(level, {}).get("DICOM", {}).get(keyword)
                and value not in allowed[image_set_id]
            ):
                problems.append(f"{image_set_id}: {level}.{keyword} holds a value no succeeded request wrote")
    return _result(
        "final values come from succeeded requests", problems, f"{len(evidence.histories)} image sets"
    )


CHECKS: tuple[Callable[[Workload, Evidence], InvariantResult], ...] = (
    one_terminal_outcome_per_request,
    bad_inputs_get_their_reason,
    ledger_agrees,
    versions_match_applied_updates,
    failures_recorded_with_reason,
    fifo_requests_applied_in_send_order,
    nothing_in_flight,
    no_values_leaked,
    handler_never_crashed,
    final_values_come_from_succeeded_requests,
)


def check_all(workload: Workload, evidence: Evidence) -> list[InvariantResult]:
    return [check(workload, evidence) for check in CHECKS]


def outcome_counts(evidence: Evidence) -> dict[str, int]:
    def label(outcome: dict[str, Any]) -> str:
        if outcome["status"] == "FAILED":
            return f"FAILED/{outcome.get('errorCode')}"
        return "SUCCEEDED/" + (
            "dry_run" if outcome.get("dryRun") else "noop" if outcome.get("noop") else "applied"
        )

    return dict(sorted(Counter(label(o) for o in evidence.outcomes()).items()))
