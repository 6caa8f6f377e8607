"""`python -m local.invoke`: replay event files through the real functions; one JSON line per record.

    python -m local.invoke events/requests/01-update-patient-name.json events/eventbridge/*.json
    python -m local.invoke --running FILE...   # against `python -m local.stack`

A file holds an SQS event (`{"Records": [...]}`: each body goes to the ingest queue its
eventSourceARN names, FIFO or standard, as text when it is not JSON; an EventBridge event in a body
is put on its bus, as a rule delivered it), an EventBridge event (published on the default bus for
`aws.*` sources, else on the requests bus, so the stack's rules route it), an UpdateRequest (sent
to the standard ingest queue), or a JSON list of those. Records are replayed one at a time, so what
each caused is its own: its outcome events and what reached the failures queue or a DLQ, with
reason codes (`deadLettered`). Nothing is consumed: a running stack's queues keep every message,
and what was there before the replay is not reported.

Sample files name data stores, image sets and UIDs of another account. Unless --keep-ids, every
record that names an image set gets a fresh copy of pydicom's CT_small.dcm (new series and
instance UIDs), so records never depend on each other, and its well-formed ids and UIDs are
pointed at it; an import event is pointed at a real import job. Malformed ids stay as they are
(they are what a bad sample is about). Against a running stack the copies come from one import job
(so the stage's import rules run on them first).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from local.command_line import checked_stage, documented_parser, open_running_stack, run
from local.moto_stack import AwsClients
from local.outcome_view import OutcomeView
from local.replay_records import Delivery, LocalIds, pointed_at, read_deliveries
from local.replay_targets import EmbeddedTargets, ReplayTargets, RunningTargets
from local.stack import STATE_FILE, LocalStack, LocalStackOptions
from local.stack_template import REPO_ROOT
from local.topology import LocalTopology
from updater_ops.queue_reading import QueuedMessage, depth, peek

IDLE_CHECKS = 3
POLL_INTERVAL_S = 0.2
REPLAY_VISIBILITY_TIMEOUT_S = 2
RUN_DIR = REPO_ROOT / "build" / "local-invoke"


def deliver(delivery: Delivery, aws: AwsClients, topology: LocalTopology) -> str:
    """Sends one delivery the way production traffic arrives; returns its SQS or EventBridge id."""
    body = delivery.body
    # An EventBridge event recorded as an SQS record was delivered by a rule: a rule delivers it here
    # too (straight onto a caller queue it would be a forged service event, UNTRUSTED_SERVICE_EVENT).
    if isinstance(body, dict) and (delivery.kind == "eventbridge" or "detail-type" in body):
        on_default_bus = str(body.get("source", "")).startswith("aws.")
        entry = {
            "Source": body["source"],
            "DetailType": body["detail-type"],
            "Detail": json.dumps(body.get("detail", {})),
            "Resources": body.get("resources", []),
            "EventBusName": "default" if on_default_bus else topology.buses["requests"],
        }
        return str(aws.events.put_events(Entries=[entry])["Entries"][0]["EventId"])
    text = body if isinstance(body, str) else json.dumps(body)
    if delivery.fifo:
        group = delivery.group_id or (
            str(body.get("imageSetId", "default")) if isinstance(body, dict) else "default"
        )
        response = aws.sqs.send_message(
            QueueUrl=topology.queue("fifo_ingest").url, MessageBody=text, MessageGroupId=group
        )
    else:
        response = aws.sqs.send_message(QueueUrl=topology.queue("ingest").url, MessageBody=text)
    return str(response["MessageId"])


def drain(aws: AwsClients, queue_url: str) -> list[dict[str, Any]]:
    """Receives and deletes every message (tests and the bench own their stacks; the replay peeks)."""
    bodies = []
    while messages := aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            aws.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def stack_is_idle(aws: AwsClients, topology: LocalTopology) -> bool:
    """No message waits or is in flight on any queue a function polls."""
    return not any(
        sum(depth(aws.sqs, topology.queue(mapping.queue_role).url))
        for mapping in topology.event_source_mappings
    )


def wait_for_running_stack(aws: AwsClients, topology: LocalTopology, timeout_s: float) -> None:
    """Another process polls the queues: wait until they stay empty for a few checks."""
    deadline, idle_checks = time.monotonic() + timeout_s, 0
    while idle_checks < IDLE_CHECKS:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the running stack did not drain its queues in {timeout_s} s")
        idle_checks = idle_checks + 1 if stack_is_idle(aws, topology) else 0
        time.sleep(POLL_INTERVAL_S)


class Replayer:
    """Replays deliveries one at a time; what appears on the outcome bus, the failures queue and the
    undrained DLQs meanwhile is the delivery's (what was there before is left out)."""

    def __init__(
        self,
        aws: AwsClients,
        topology: LocalTopology,
        targets: ReplayTargets | None,
        wait_until_idle: Callable[[float], None],
    ) -> None:
        self._aws, self._topology, self._targets, self._wait = aws, topology, targets, wait_until_idle
        self._view = OutcomeView(aws, topology)
        self._seen: set[str] = set()

    def _messages(self) -> list[tuple[str, QueuedMessage]]:
        roles = ["outcome_capture", "failures", *self._view.terminal_dlqs]
        return [(role, m) for role in roles for m in peek(self._aws.sqs, self._topology.queue(role).url)]

    def replay(self, delivery: Delivery, timeout_s: float) -> dict[str, Any]:
        target = self._targets.ids_for(delivery) if self._targets is not None else None
        if target is not None:
            delivery = pointed_at(delivery, target)
        # Whatever is there now (earlier traffic, the target's own import) is not this record's.
        self._seen.update(message.message_id for _, message in self._messages())
        sent_id = deliver(delivery, self._aws, self._topology)
        settled = True
        try:
            self._wait(timeout_s)
        except TimeoutError:
            settled = False  # e.g. the handler gave the record back (visibility) for a later retry
        fresh = [(role, m) for role, m in self._messages() if m.message_id not in self._seen]
        self._seen.update(m.message_id for _, m in fresh)
        return record_line(delivery, sent_id, target, fresh) | {"settled": settled}


def record_line(
    delivery: Delivery, sent_id: str, target: LocalIds | None, fresh: list[tuple[str, QueuedMessage]]
) -> dict[str, Any]:
    from local.outcome_view import body_ids  # noqa: PLC0415

    outcomes = []
    dead = []
    for role, message in fresh:
        if role == "outcome_capture":
            event = json.loads(message.body)
            outcomes.append({"detailType": event.get("detail-type"), **(event.get("detail") or {})})
        else:  # ids and reasons only: a dead-lettered body may carry attribute values (PHI)
            ids = (
                {"requestId": message.attributes.get("requestId")}
                if "requestId" in message.attributes
                else {}
            )
            reason = {
                k: message.attributes[k] for k in ("failureCode", "failureMessage") if k in message.attributes
            }
            dead.append({"queue": role, **(ids or body_ids(message.body)), **reason})
    codes = [o["errorCode"] for o in outcomes if o.get("errorCode")]
    codes += [d["failureCode"] for d in dead if d.get("failureCode") and d["failureCode"] not in codes]
    line: dict[str, Any] = {"record": delivery.source, "kind": delivery.kind, "sentId": sent_id}
    if target is not None and target.image_set is not None:
        line["imageSetId"] = target.image_set.image_set_id
    return line | {"outcomes": outcomes, "deadLettered": dead, "errorCodes": codes}


def replay(paths: Sequence[Path], arguments: argparse.Namespace) -> int:
    deliveries = [delivery for path in paths for delivery in read_deliveries(path)]  # every file read first
    if arguments.running:
        running = open_running_stack(Path(arguments.state_file))
        print(f"function logs: {running.run_dir}/<function name>/", file=sys.stderr)

        def wait(timeout_s: float) -> None:
            wait_for_running_stack(running.aws, running.topology, timeout_s)

        targets = None if arguments.keep_ids else RunningTargets(running, deliveries, wait)
        replayer = Replayer(running.aws, running.topology, targets, wait)
        return _replay_all(replayer, deliveries, arguments.timeout, arguments.output)
    options = replay_stack_options(checked_stage(arguments.stage), RUN_DIR)
    print(f"function logs: {RUN_DIR}/<function name>/", file=sys.stderr)
    with LocalStack(options) as stack:
        assert stack.topology is not None
        embedded = None if arguments.keep_ids else EmbeddedTargets(stack)
        replayer = Replayer(stack.aws, stack.topology, embedded, stack.run_until_idle)
        return _replay_all(replayer, deliveries, arguments.timeout, arguments.output)


def _replay_all(replayer: Replayer, deliveries: list[Delivery], timeout_s: float, output: TextIO) -> int:
    for delivery in deliveries:
        print(json.dumps(replayer.replay(delivery, timeout_s)), file=output, flush=True)
    return 0


def replay_stack_options(stage: str, run_dir: Path | None) -> LocalStackOptions:
    """The stack a replay starts for itself: settles in milliseconds, records back in seconds."""
    from local.healthimaging import BehaviourProfile  # noqa: PLC0415

    return LocalStackOptions(
        stage=stage,
        emulator_profile=BehaviourProfile.fast(),
        name_prefix="invoke-",
        # A record the handler gives back comes round again in seconds, not the stage's minutes.
        visibility_timeout_s=REPLAY_VISIBILITY_TIMEOUT_S,
        run_dir=run_dir,
    )


def argument_parser() -> argparse.ArgumentParser:
    parser = documented_parser("python -m local.invoke", __doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--running", action="store_true", help="use the stack `python -m local.stack` runs")
    parser.add_argument("--state-file", default=str(STATE_FILE))
    parser.add_argument(
        "--stage", default="dev", help="CDK stage whose topology the embedded stack recreates"
    )
    parser.add_argument("--keep-ids", action="store_true", help="send data store and image set ids unchanged")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each record")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = argument_parser().parse_args(argv)
    arguments.output = sys.stdout  # the outcome lines alone: the functions log to their own streams
    return replay(arguments.files, arguments)


if __name__ == "__main__":
    sys.exit(run(main))
