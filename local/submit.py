"""`python -m local.submit`: send an UpdateRequest, built from flags, to the running local stack.

    python -m local.submit --image-set-id ID --set Patient.PatientName=DOE^JANE \\
        --remove Study.StudyDescription=e+1 --force
    python -m local.submit --image-set-id ID --revert 1
    python -m local.submit --image-set-id ID --set Patient.PatientName=DOE^JANE --no-wait

Prints the request and its requestId (`submit-<random>` unless --request-id names one: a new id
is a new request, the same id again only replays the stored outcome), sends it where other
services would (the standard ingest queue; --fifo, --bus), then waits for its outcome on the
outcome bus and prints it as a row. Exit code: 0 succeeded (also a no-op or a dry run), 1 failed,
2 a usage error, 3 no outcome within --timeout.

Attribute paths: `Patient.<Keyword>`, `Study.<Keyword>`, `Series[<SeriesInstanceUID>].<Keyword>`,
`Series[<uid>].Instances[<SOPInstanceUID>].<Keyword>`; `--remove Series[<uid>]` (no keyword, no
value) removes a whole series, likewise an instance. Keywords may be private tags (8 hex digits).
A value that parses as a JSON array, object or null is sent as that JSON; anything else as text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local.command_line import UserError, documented_parser, open_running_stack, run
from local.outcome_view import OutcomeView, render
from local.stack import STATE_FILE, RunningStack

SCHEMA_VERSION = 1.1
REQUEST_DETAIL_TYPE = "ImageSetMetadataUpdate.Requested"
REQUEST_SOURCE = "local.submit"
_PATH = re.compile(
    r"^(?:(?P<level>Patient|Study)\.(?P<top_keyword>[A-Za-z0-9]+)"
    r"|Series\[(?P<series>[0-9.]+)\](?:\.Instances\[(?P<instance>[0-9.]+)\])?(?:\.(?P<keyword>[A-Za-z0-9]+))?)$"
)


EXIT_FAILED = 1
EXIT_NO_OUTCOME = 3
WAIT_POLL_S = 0.25


class AttributePathError(UserError):
    """An attribute path or value given on the command line is not understood."""


def attribute_document(assignments: Sequence[str], *, values_required: bool = True) -> dict[str, Any]:
    """The metadata-shaped JSON document for `PATH=VALUE` assignments (or bare series/instance paths)."""
    document: dict[str, Any] = {"SchemaVersion": SCHEMA_VERSION}
    for assignment in assignments:
        path, has_value, raw_value = assignment.partition("=")
        match = _PATH.match(path.strip())
        if match is None:
            raise AttributePathError(f"cannot read attribute path {path!r}")
        keyword = match["top_keyword"] or match["keyword"]
        if keyword is None:
            if has_value:
                raise AttributePathError(f"{path!r} names a series or instance: it takes no value")
            _level(document, match).clear()
            continue
        if not has_value and values_required:
            raise AttributePathError(f"{path!r} needs a value: {path}=VALUE")
        _level(document, match).setdefault("DICOM", {})[keyword] = _value(raw_value)
    return document


def _level(document: dict[str, Any], match: re.Match[str]) -> dict[str, Any]:
    if match["level"] == "Patient":
        return document.setdefault("Patient", {})  # type: ignore[no-any-return]
    study = document.setdefault("Study", {})
    if match["level"] == "Study":
        return study  # type: ignore[no-any-return]
    series = study.setdefault("Series", {}).setdefault(match["series"], {})
    if match["instance"] is None:
        return series  # type: ignore[no-any-return]
    return series.setdefault("Instances", {}).setdefault(match["instance"], {})  # type: ignore[no-any-return]


def _value(raw: str) -> Any:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw
    return parsed if parsed is None or isinstance(parsed, list | dict) else raw


def new_request_id() -> str:
    """Callers should always send a requestId: a fresh one per request, kept for their retries."""
    return f"submit-{uuid.uuid4().hex[:12]}"


def update_request(arguments: argparse.Namespace, datastore_id: str) -> dict[str, Any]:
    request: dict[str, Any] = {
        "datastoreId": datastore_id,
        "imageSetId": arguments.image_set_id,
        "requestId": arguments.request_id or new_request_id(),
    }
    if arguments.force:
        request["force"] = True
    if arguments.revert is not None:
        if arguments.set or arguments.remove:
            raise AttributePathError("--revert cannot be combined with --set or --remove")
        request["revertToVersionId"] = str(arguments.revert)
        return request
    updates: dict[str, Any] = {}
    if arguments.set:
        updates["updatableAttributes"] = attribute_document(arguments.set)
    if arguments.remove:
        updates["removableAttributes"] = attribute_document(arguments.remove)
    if not updates:
        raise AttributePathError("nothing to do: give --set, --remove or --revert")
    request["DICOMUpdates"] = updates
    return request


def send(stack: RunningStack, request: dict[str, Any], *, fifo: bool, via_bus: bool) -> str:
    """Sends the request where other services would, and returns the SQS or EventBridge id."""
    aws = stack.aws
    body = json.dumps(request)
    if via_bus:
        entry = {
            "Source": REQUEST_SOURCE,
            "DetailType": REQUEST_DETAIL_TYPE,
            "Detail": body,
            "EventBusName": stack.topology.buses["requests"],
        }
        return str(aws.events.put_events(Entries=[entry])["Entries"][0]["EventId"])
    if fifo:
        queue = stack.topology.queue("fifo_ingest")
        # One group per image set: requests for one image set are applied in order.
        response = aws.sqs.send_message(
            QueueUrl=queue.url, MessageBody=body, MessageGroupId=request["imageSetId"]
        )
    else:
        response = aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=body)
    return str(response["MessageId"])


def argument_parser() -> argparse.ArgumentParser:
    parser = documented_parser("python -m local.submit", __doc__)
    parser.add_argument("--image-set-id", required=True, help="`python -m local.stack` prints its image sets")
    parser.add_argument("--datastore-id", help="default: the running stack's data store")
    parser.add_argument("--request-id", help="default: a new submit-<random> id")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    parser.add_argument("--remove", action="append", default=[], metavar="PATH=CURRENT_VALUE")
    parser.add_argument("--revert", type=int, metavar="VERSION_ID")
    parser.add_argument("--force", action="store_true")
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--fifo", action="store_true", help="send to the FIFO ingest queue (ordered per image set)"
    )
    target.add_argument("--bus", action="store_true", help="publish on the requests event bus instead")
    parser.add_argument("--print-only", action="store_true", help="print the request, send nothing")
    parser.add_argument(
        "--no-wait", action="store_true", help="send and exit 0, without waiting for the outcome"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the outcome (default 60)"
    )
    parser.add_argument(
        "--state-file", type=Path, default=STATE_FILE, help="where `python -m local.stack` wrote its state"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = argument_parser().parse_args(argv)
    offline = arguments.print_only and arguments.datastore_id
    stack = None if offline else open_running_stack(arguments.state_file)
    request = update_request(arguments, arguments.datastore_id or (stack.datastore_id if stack else ""))
    print(json.dumps(request))
    if stack is None or arguments.print_only:
        return 0
    request_id = request["requestId"]
    sent_id = send(stack, request, fifo=arguments.fifo, via_bus=arguments.bus)
    where = (
        "the requests bus"
        if arguments.bus
        else "the FIFO ingest queue"
        if arguments.fifo
        else "the ingest queue"
    )
    print(f"requestId {request_id} sent to {where} (id {sent_id})", flush=True)
    if arguments.no_wait:
        print(f"see its outcome: python -m local.outcomes --request-id {request_id}")
        return 0
    return wait_for_outcome(OutcomeView(stack.aws, stack.topology), request_id, arguments.timeout)


def wait_for_outcome(view: OutcomeView, request_id: str, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while (row := view.outcome_of(request_id)) is None:
        if time.monotonic() > deadline:
            print(
                f"no outcome for {request_id} within {timeout_s:.0f} s "
                f"(later: python -m local.outcomes --request-id {request_id})",
                file=sys.stderr,
            )
            return EXIT_NO_OUTCOME
        time.sleep(WAIT_POLL_S)
    print(render([row]))
    return EXIT_FAILED if row.failed else 0


if __name__ == "__main__":
    sys.exit(run(main))
