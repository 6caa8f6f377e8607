"""Replay event files through the real handler on a local stack; one JSON outcome line per record.

    python -m local.invoke events/requests/01-update-patient-name.json events/eventbridge/*.json
    python -m local.invoke --running FILE...   # against `python -m local.stack`

A file holds an SQS event (`{"Records": [...]}`: each body goes to the ingest queue its
eventSourceARN names, FIFO or standard; an EventBridge event in a body is put on its bus as it
would have been), an EventBridge event (published on the default bus for
`aws.*` sources, else on the requests bus, so the stack's rules route it), an UpdateRequest
(sent to the standard ingest queue), or a JSON list of those. Records are replayed one at a time
so every outcome event is attributed to the record that caused it.

Event files name data stores and image sets of other accounts. By default the embedded stack
imports pydicom's sample CT_small.dcm and the replay points every record at that image set and at
the local data store (`--keep-ids` sends them unchanged).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.moto_stack import AwsClients
from local.stack import STATE_FILE, LocalStack, LocalStackOptions, RunningStack
from local.stack_template import REPO_ROOT
from local.topology import LocalTopology

SAMPLE_DICOM_FILE = "CT_small.dcm"
IDLE_CHECKS = 3
POLL_INTERVAL_S = 0.2
REPLAY_VISIBILITY_TIMEOUT_S = 2
DEAD_LETTER_KEYS = ("requestId", "datastoreId", "imageSetId", "errorCode", "code", "reason", "detail-type")
RUN_DIR = REPO_ROOT / "build" / "local-invoke"


@dataclass(frozen=True)
class Delivery:
    """One record of an event file, as it enters the stack."""

    source: str
    kind: str  # "request", "sqs", "eventbridge"
    body: dict[str, Any]
    fifo: bool = False
    group_id: str | None = None


def read_deliveries(path: Path) -> Iterator[Delivery]:
    document = json.loads(path.read_text(encoding="utf-8"))
    for index, item in enumerate(document if isinstance(document, list) else [document]):
        source = f"{path}#{index}"
        if "Records" in item:
            for number, record in enumerate(item["Records"]):
                fifo = str(record.get("eventSourceARN", "")).endswith(".fifo")
                group = record.get("attributes", {}).get("MessageGroupId")
                yield Delivery(f"{source}.{number}", "sqs", json.loads(record["body"]), fifo, group)
        elif "detail-type" in item:
            yield Delivery(source, "eventbridge", item)
        else:
            yield Delivery(source, "request", item)


def pointed_at(delivery: Delivery, datastore_id: str, image_set_id: str | None) -> Delivery:
    """The delivery with its data store (and image set, when given) replaced by local ones."""

    def swap(document: dict[str, Any]) -> dict[str, Any]:
        swapped = dict(document)
        if "datastoreId" in swapped:
            swapped["datastoreId"] = datastore_id
        if image_set_id and "imageSetId" in swapped:
            swapped["imageSetId"] = image_set_id
        return swapped

    body = delivery.body
    if "detail" in body and isinstance(body["detail"], dict):
        body = {**body, "detail": swap(body["detail"])}
    else:
        body = swap(body)
    return Delivery(delivery.source, delivery.kind, body, delivery.fifo, delivery.group_id)


def deliver(delivery: Delivery, aws: AwsClients, topology: LocalTopology) -> str:
    """Sends one delivery the way production traffic arrives; returns its SQS or EventBridge id."""
    body = delivery.body
    # An EventBridge event recorded as an SQS record was delivered by a rule: a rule delivers it here
    # too (straight onto a caller queue it would be a forged service event, UNTRUSTED_SERVICE_EVENT).
    if delivery.kind == "eventbridge" or "detail-type" in body:
        on_default_bus = str(body.get("source", "")).startswith("aws.")
        entry = {
            "Source": body["source"],
            "DetailType": body["detail-type"],
            "Detail": json.dumps(body.get("detail", {})),
            "Resources": body.get("resources", []),
            "EventBusName": "default" if on_default_bus else topology.buses["requests"],
        }
        return str(aws.events.put_events(Entries=[entry])["Entries"][0]["EventId"])
    if delivery.fifo:
        group = delivery.group_id or str(body.get("imageSetId", "default"))
        response = aws.sqs.send_message(
            QueueUrl=topology.queue("fifo_ingest").url, MessageBody=json.dumps(body), MessageGroupId=group
        )
    else:
        response = aws.sqs.send_message(QueueUrl=topology.queue("ingest").url, MessageBody=json.dumps(body))
    return str(response["MessageId"])


def drain(aws: AwsClients, queue_url: str) -> list[dict[str, Any]]:
    bodies = []
    while messages := aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            aws.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def queues_idle(aws: AwsClients, topology: LocalTopology) -> bool:
    for role in ("ingest", "fifo_ingest", "rules"):
        attributes = aws.sqs.get_queue_attributes(
            QueueUrl=topology.queue(role).url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if any(int(value) for value in attributes.values()):
            return False
    return True


def wait_for_running_stack(aws: AwsClients, topology: LocalTopology, timeout_s: float) -> None:
    """Another process polls the queues: wait until they stay empty for a few checks."""
    deadline, idle_checks = time.monotonic() + timeout_s, 0
    while idle_checks < IDLE_CHECKS:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the running stack did not drain its queues in {timeout_s} s")
        idle_checks = idle_checks + 1 if queues_idle(aws, topology) else 0
        time.sleep(POLL_INTERVAL_S)


def dead_letter_summary(body: Any) -> dict[str, Any]:
    """Ids and reasons only: a dead-lettered body may carry attribute values (PHI)."""
    found: dict[str, Any] = {}
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found |= {
                key: item[key]
                for key in DEAD_LETTER_KEYS
                if isinstance(item.get(key), str | int) and key not in found
            }
            stack.extend(value for value in item.values() if isinstance(value, dict))
    return found


def outcome_line(
    delivery: Delivery, sent_id: str, outcomes: list[dict[str, Any]], dead: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "record": delivery.source,
        "kind": delivery.kind,
        "sentId": sent_id,
        "outcomes": [
            {"detailType": event.get("detail-type"), **event.get("detail", {})} for event in outcomes
        ],
        "deadLettered": dead,
    }


def replay(paths: Sequence[Path], arguments: argparse.Namespace) -> int:
    if arguments.running:
        running = RunningStack.read(Path(arguments.state_file))
        print(f"function logs: {running.run_dir}/<function name>/", file=sys.stderr)
        return _replay(paths, arguments, running.aws, running.topology, running.datastore_id, None, None)
    options = LocalStackOptions(
        stage=arguments.stage,
        emulator_profile=_fast_profile(),
        name_prefix="invoke-",
        # A record the handler gives back comes round again in seconds, not the stage's minutes.
        visibility_timeout_s=REPLAY_VISIBILITY_TIMEOUT_S,
        run_dir=RUN_DIR,
    )
    print(f"function logs: {RUN_DIR}/<function name>/", file=sys.stderr)
    with LocalStack(options) as stack:
        assert stack.topology is not None
        image_set_id = None
        if not arguments.keep_ids:
            import pydicom.data  # noqa: PLC0415  (only the embedded replay needs a sample)

            sample = pydicom.data.get_testdata_file(SAMPLE_DICOM_FILE)
            (image_set_id,) = stack.emulator.service.import_dicom_files(stack.datastore_id, [sample])
        return _replay(paths, arguments, stack.aws, stack.topology, stack.datastore_id, image_set_id, stack)


def _fast_profile() -> Any:
    from local.healthimaging import BehaviourProfile  # noqa: PLC0415

    return BehaviourProfile.fast()


def _replay(
    paths: Sequence[Path],
    arguments: argparse.Namespace,
    aws: AwsClients,
    topology: LocalTopology,
    datastore_id: str,
    image_set_id: str | None,
    stack: LocalStack | None,
) -> int:
    dlqs = [topology.queue("failures").url]
    for path in paths:
        for delivery in read_deliveries(path):
            if not arguments.keep_ids:
                delivery = pointed_at(delivery, datastore_id, image_set_id)  # noqa: PLW2901
            sent_id = deliver(delivery, aws, topology)
            settled = True
            try:
                if stack is not None:
                    stack.run_until_idle(arguments.timeout)
                else:
                    wait_for_running_stack(aws, topology, arguments.timeout)
            except TimeoutError:
                settled = False  # e.g. the handler postponed the record (visibility) for a later retry
            outcomes = drain(aws, topology.queue("outcome_capture").url)
            dead = [dead_letter_summary(body) for url in dlqs for body in drain(aws, url)]
            line = outcome_line(delivery, sent_id, outcomes, dead) | {"settled": settled}
            print(json.dumps(line), file=arguments.output, flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--running", action="store_true", help="use the stack `python -m local.stack` runs")
    parser.add_argument("--state-file", default=str(STATE_FILE))
    parser.add_argument(
        "--stage", default="dev", help="CDK stage whose topology the embedded stack recreates"
    )
    parser.add_argument("--keep-ids", action="store_true", help="send data store and image set ids unchanged")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each record")
    arguments = parser.parse_args(argv)
    arguments.output = sys.stdout  # the outcome lines alone: the functions log to their own streams
    return replay(arguments.files, arguments)


if __name__ == "__main__":
    sys.exit(main())
