"""`python -m local.outcomes`: what reached the outcome bus, the failures queue and the DLQs.

    python -m local.outcomes                      # everything so far, oldest first
    python -m local.outcomes --request-id ID      # one request (its outcome and failure record)
    python -m local.outcomes --follow             # keep printing new rows until Ctrl-C

Reads the running stack (`python -m local.stack`) without consuming anything: each queue is walked
and its messages made visible again at once, so a second look sees them too. One row per outcome
event (SUCCEEDED, NOOP, DRY RUN, FAILED with its reason code and message; import reactions), per
failure record on the `failures` queue (the failed request, for `python -m updater_ops retry`),
and per message in a DLQ nobody drains (a loss); then the depth of every DLQ.
Exit code: 0; 1 when --request-id finds nothing (yet).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from local.command_line import documented_parser, open_running_stack, run
from local.outcome_view import COLUMNS, FOLLOW_WIDTHS, OutcomeView, Row, dead_letter_summary, render
from local.stack import STATE_FILE

FOLLOW_INTERVAL_S = 1.0


def argument_parser() -> argparse.ArgumentParser:
    parser = documented_parser("python -m local.outcomes", __doc__)
    parser.add_argument("--request-id", help="only rows of this request")
    parser.add_argument("--follow", action="store_true", help="keep printing new rows until Ctrl-C")
    parser.add_argument(
        "--state-file", type=Path, default=STATE_FILE, help="where `python -m local.stack` wrote its state"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = argument_parser().parse_args(argv)
    stack = open_running_stack(arguments.state_file)
    view = OutcomeView(stack.aws, stack.topology)
    if arguments.follow:
        return follow(view, arguments.request_id)
    return show(view, arguments.request_id)


def _selected(rows: list[Row], request_id: str | None) -> list[Row]:
    return [row for row in rows if request_id is None or request_id in row.request_ids]


def show(view: OutcomeView, request_id: str | None) -> int:
    rows = _selected(view.rows(), request_id)
    if rows:
        print(render(rows))
    else:
        print(f"nothing yet for {request_id}" if request_id else "no outcomes yet")
    print(dead_letter_summary(view.dead_letter_depths()))
    return 1 if request_id and not rows else 0


def follow(view: OutcomeView, request_id: str | None) -> int:
    widths = [max(width, len(name)) for width, name in zip(FOLLOW_WIDTHS, COLUMNS, strict=True)]
    print(render([], widths), flush=True)
    seen: set[str] = set()
    try:
        while True:
            fresh = [row for row in _selected(view.rows(), request_id) if row.message_id not in seen]
            if fresh:
                print(render(fresh, widths, header=False), flush=True)
                seen.update(row.message_id for row in fresh)
            time.sleep(FOLLOW_INTERVAL_S)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(run(main))
