"""Issue 17's hostile-input suite: the corpus (tests.integration.hostile) through the real functions
on the local stack (moto and the HealthImaging emulator over HTTP): SQS records in mixed batches
with good batch-mates, PutEvents through the stack's rules, records to the finalizer and to apply,
whole invocation events. Every hostile input ends with its specific code, every good batch-mate
succeeds, and no marker appears in logs, EMF metrics, outcome events, failure-record attributes or
ledger items (a failure record's body holds the original message, on purpose).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.healthimaging.profile import BehaviourProfile
from local.scenario import import_image_set, read_metadata
from local.stack import LocalStack, LocalStackOptions
from tests.integration.fuzz.test_handler_fuzz import run_the_lane
from tests.integration.hostile import delivery
from tests.integration.hostile.corpus import (
    Ending,
    Good,
    Hostile,
    Markers,
    Route,
    Sent,
    Target,
    hostile_inputs,
)
from tests.integration.hostile.evidence import Evidence, collect
from tests.integration.hostile.hostile_corrections import correction_inputs
from tests.integration.hostile.hostile_events import (
    eventbridge_inputs,
    import_summary_input,
    queued_envelopes,
    rules_queue_envelopes,
)
from tests.integration.hostile.hostile_invocations import (
    direct_inputs,
    finalize_inputs,
    good_mates,
    lane_inputs,
)
from tests.integration.hostile.hostile_requests import request_inputs

pytestmark = pytest.mark.integration
MARKER = re.compile(r"MRK[0-9]{4}Z")
SQS_ALLOWED = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
LAMBDAS = Path(__file__).resolve().parents[3] / "lambdas" / "updater"


@dataclass(frozen=True)
class Run:
    sent: list[Sent]
    evidence: Evidence

    @property
    def hostile(self) -> list[Hostile]:
        return hostile_inputs(self.sent)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"hostile{uuid.uuid4().hex[:6]}-",
        function_timeout_s=30,
        emulator_profile=BehaviourProfile.fast(),
        extra_environment={"UPDATE_RATE_PER_SECOND": "100", "UPDATE_BURST": "20"},
    )
    running = LocalStack(options).start(start_pollers=False)
    try:
        yield running
    finally:
        running.stop()


def _target(stack: LocalStack) -> Target:
    image_set = import_image_set(stack, "CT_small.dcm")
    series_uid = next(iter(read_metadata(stack, image_set)["Study"]["Series"]))
    assert stack.topology is not None
    trusted_rules = stack.topology.function_of("ingest").environment["TRUSTED_RULES"]
    return Target(stack.datastore_id, image_set, series_uid, trusted_rules)


@pytest.fixture(scope="module")
def run(stack: LocalStack) -> Run:
    """Everything in turn (the lane runs between), then what it all left behind."""
    assert stack.topology is not None
    target, markers = _target(stack), Markers()
    mates = (mate for n in itertools.count() for mate in good_mates(target, markers, 1, f"mate-{n}"))
    summary, failed_files = import_summary_input(target, markers)
    delivery.write_import_output(stack, target.datastore_id, "2" * 32, failed_files)
    sent: list[Sent] = [
        *request_inputs(target, markers),
        *correction_inputs(target, markers),
        *queued_envelopes(target, markers),
        summary,
    ]
    sent += _in_batches(stack, "ingest", delivery.of_route(sent, Route.SQS), mates)
    sent += [*rules_queue_envelopes(target, markers)]
    stamped_mates = (
        mate for n in itertools.count() for mate in good_mates(target, markers, 1, f"ruled-{n}", Route.RULES)
    )
    sent += _in_batches(stack, "rules", delivery.of_route(sent, Route.RULES), stamped_mates)
    sent += _through_the_rules(stack, target, markers)
    run_the_lane(stack, budget_s=90)
    sent += _in_batches(stack, "ingest", delivery.of_route(sent, Route.SQS_AFTER_LANE), mates)
    # The finalizer's good batch-mate: a request that ended already keeps its outcome.
    ended = next(s for s in sent if isinstance(s, Good) and s.request_id == "good-reused-later")
    dead = finalize_inputs(target, markers)
    delivery.send_batch(stack, "ingest_dlq", [*dead, ended])
    lane = lane_inputs(target, markers)
    delivery.send_batch(stack, "fifo_lane", lane, MessageGroupId=target.image_set_id)
    direct = direct_inputs(target, markers)
    for item in direct:
        delivery.invoke(stack, item.function, item.event)
    run_the_lane(stack, budget_s=60)
    return Run([*sent, *dead, *lane, *direct], collect(stack))


def _in_batches(stack: LocalStack, role: str, items: list[Sent], mates: Iterator[Good]) -> list[Sent]:
    """`items` in mixed batches to the function polling `role`; returns the batch-mates added."""
    added: list[Sent] = []
    for batch in delivery.batches(items, mates):
        delivery.send_batch(stack, role, batch)
        added += [s for s in batch if s not in items]
    return added


def _through_the_rules(stack: LocalStack, target: Target, markers: Markers) -> list[Sent]:
    """PutEvents on the requests bus and the default bus; what the rules deliver to the rules
    queue then goes to intake as its event source mapping would send it."""
    assert stack.topology is not None
    requests_bus = stack.topology.buses["requests"]
    routed = [
        *eventbridge_inputs(target, markers, requests_bus),
        *good_mates(target, markers, 2, "eb-mate", Route.EVENTBRIDGE),
    ]
    delivery.put_events(stack, routed, requests_bus)
    wanted = [s.marker if isinstance(s, Hostile) else s.request_id for s in routed]
    arrived = delivery.drain_rules(stack, wanted)
    assert len(arrived) == len(routed), "every event reached the rules queue through the stack's rules"
    delivery.invoke_with_received(stack, arrived)
    return routed


def test_the_corpus_holds_over_a_hundred_hostile_inputs_each_with_a_marker_of_its_own(run: Run) -> None:
    markers = [h.marker for h in run.hostile]
    assert len(run.hostile) >= 100
    assert all(MARKER.fullmatch(m) for m in markers) and len(set(markers)) == len(markers)
    assert {h.route for h in run.hostile} == set(Route)


def test_every_hostile_input_ends_with_its_specific_code(run: Run) -> None:
    outcomes = run.evidence.outcomes()
    reaction_failures = Counter(d["errorCode"] for d in run.evidence.details("ImportJob.ReactionFailed"))
    wrong = []
    for item in (h for h in run.hostile if h.ending is Ending.FAILURE_RECORD):
        mine = [
            r for r in run.evidence.failures
            if (item.record_body is not None and r.body == item.record_body) or item.marker in r.body
        ]  # fmt: skip
        codes = {r.code for r in mine}
        keyed = [outcomes.get(r.attributes.get("requestId", ""), []) for r in mine]
        announced = all(
            any(o["errorCode"] == item.code for o in found)
            if r.attributes.get("requestId")
            else reaction_failures[item.code]
            for r, found in zip(mine, keyed, strict=True)
        )
        if codes != {item.code} or not announced:
            wrong.append((item.name, item.code, sorted(codes), announced))
    assert wrong == []


def test_inputs_with_nothing_to_record_end_with_their_reason(run: Run) -> None:
    ignored = Counter(h.code for h in run.hostile if h.ending is Ending.IGNORED)
    admitted = run.evidence.admitted_codes()
    assert {code: admitted[code] for code in ignored} == dict(ignored)
    expected: Counter[str] = Counter()
    for item in run.hostile:
        if item.ending is Ending.UNANSWERABLE:
            expected[item.code] += item.unanswerable
    assert run.evidence.unanswerable() == expected
    (summary,) = [d for d in run.evidence.details("ImportJob.Reacted") if d["jobId"] == "2" * 32]
    assert summary["failedFiles"] == 3
    assert all(name.startswith("file:sha256:") for name in summary["failedFileNames"])


def test_every_good_batch_mate_succeeds(run: Run) -> None:
    outcomes = run.evidence.outcomes()
    goods = [s for s in run.sent if isinstance(s, Good)]
    assert len(goods) >= 15
    failed = {g.request_id: [o["status"] for o in outcomes.get(g.request_id, [])] for g in goods}
    assert {k: v for k, v in failed.items() if v != ["SUCCEEDED"]} == {}


def test_a_reused_request_id_never_touches_the_original(run: Run) -> None:
    outcomes = run.evidence.outcomes()
    reused = [
        o for found in outcomes.values() for o in found if o.get("reusedRequestId") == "good-reused-later"
    ]
    assert len(reused) == 3  # in flight, after it ended, and through EventBridge
    assert all(
        o["requestId"].startswith("reused:") and o["requestId"].endswith(":good-reused-later") for o in reused
    )
    assert [o["status"] for o in outcomes["good-reused-later"]] == ["SUCCEEDED"]


def leaks(text: str) -> list[str]:
    return sorted(set(MARKER.findall(text)))


def test_no_marker_reaches_a_log_line_or_an_emf_metric(run: Run) -> None:
    assert "record admitted" in run.evidence.logs and '"_aws"' in run.evidence.logs  # logs and EMF read
    assert leaks(run.evidence.logs) == []


def test_no_marker_reaches_an_outcome_event(run: Run) -> None:
    assert leaks(str(run.evidence.events)) == []


def test_no_marker_reaches_a_failure_record_attribute(run: Run) -> None:
    assert leaks(str([r.attributes for r in run.evidence.failures])) == []


def test_no_marker_reaches_a_ledger_item(run: Run) -> None:
    assert run.evidence.ledger_items
    assert leaks(str(run.evidence.ledger_items)) == []


def test_every_failure_record_is_one_real_sqs_would_take(run: Run) -> None:
    records = run.evidence.failures
    assert all(r.size() <= 256 * 1024 for r in records)
    assert all(
        SQS_ALLOWED.match(r.body) and all(SQS_ALLOWED.match(v) for v in r.attributes.values())
        for r in records
    )
    cut = [r for r in records if "bodyBytes" in r.attributes]
    assert len(cut) >= 2  # the body over 256 KiB, and the one at the limit that leaves no room


def test_no_function_reads_a_message_attribute_or_takes_a_request_as_its_event(run: Run) -> None:
    source = {path.name: path.read_text(encoding="utf-8") for path in LAMBDAS.rglob("*.py")}
    assert [name for name, text in source.items() if "renewals" in text] == []
    readers = [
        name for name, text in source.items() if "message_attributes" in text or "messageAttributes" in text
    ]
    assert readers == ["sqs_batch.py"]  # which drops them all but a bounded contentType
    # Nothing a record holds is appended to the logger, so nothing stays for the next record.
    assert [name for name, text in source.items() if "append_keys" in text] == []
    # A request given as the invocation event itself is no SQS event: answered empty, never applied.
    assert "direct-1" not in run.evidence.outcomes()
