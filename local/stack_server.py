"""`python -m local.stack`: one local stack kept running, with image sets to send requests to.

    python -m local.stack [--stage dev] [--no-samples] [--state-file FILE] [--run-dir DIR]

Starts the stack (moto, the HealthImaging emulator, the CDK stack's queues, buses, rules, table and
functions), imports pydicom's sample files CT_small.dcm and MR_small.dcm with a real import job (so
the stage's import rules run on them, as in AWS), waits until the updater has reacted, and prints
one row per image set: its id, sample, modality, version, series and SOP instance UIDs. The same
ids go to the state file, where `local.submit`, `local.outcomes`, `local.invoke --running` and
`python -m updater_ops` find the stack. Runs until Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local.command_line import UserError, checked_stage, documented_parser
from local.stack import SERVE_RUN_DIR, STATE_FILE, LocalStack, LocalStackOptions
from local.stack_template import DEFAULT_STAGE

REACTION_TIMEOUT_S = 120.0


def argument_parser() -> argparse.ArgumentParser:
    parser = documented_parser("python -m local.stack", __doc__)
    parser.add_argument("--stage", default=DEFAULT_STAGE, help="CDK stage whose stack runs (default: dev)")
    parser.add_argument("--no-samples", action="store_true", help="start with an empty data store")
    parser.add_argument(
        "--state-file",
        type=Path,
        default=STATE_FILE,
        help=f"where to write the state (default: {STATE_FILE})",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=SERVE_RUN_DIR,
        help=f"function logs go below it (default: {SERVE_RUN_DIR})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = argument_parser().parse_args(argv)
    checked_stage(arguments.stage)
    _refuse_a_second_stack(arguments.state_file)
    options = LocalStackOptions(stage=arguments.stage, run_dir=arguments.run_dir)
    serve_stack(options, arguments.state_file, import_samples=not arguments.no_samples)
    return 0


def _refuse_a_second_stack(state_file: Path) -> None:
    from local.command_line import open_running_stack  # noqa: PLC0415

    try:
        open_running_stack(state_file)
    except UserError:
        return  # none, or a stale file: this stack replaces it
    raise UserError(
        f"a local stack is already running (state file {state_file}); stop it with Ctrl-C, "
        "or give this one another --state-file"
    )


def serve_stack(options: LocalStackOptions, state_file: Path, *, import_samples: bool) -> None:
    stopped = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopped.set())
    started = time.monotonic()
    say("starting moto, the HealthImaging emulator and the stack's topology ...")
    with LocalStack(options) as stack:
        samples = _import_samples(stack) if import_samples and not stopped.is_set() else None
        stack.write_state(state_file, samples.to_json() if samples else None)
        _announce(stack, samples, state_file, time.monotonic() - started)
        stopped.wait()
        say("stopping ...")
    state_file.unlink(missing_ok=True)


def _import_samples(stack: LocalStack) -> Any:
    from local.samples import SAMPLE_FILES, import_samples, refreshed  # noqa: PLC0415

    say(f"importing {', '.join(SAMPLE_FILES)} (import job; the {stack.options.stage} import rules run) ...")
    imported = import_samples(stack.moto.endpoint_url, stack.emulator.endpoint_url, stack.datastore_id)
    stack.run_until_idle(REACTION_TIMEOUT_S)
    return refreshed(imported, stack.emulator.endpoint_url)


def _announce(stack: LocalStack, samples: Any, state_file: Path, elapsed_s: float) -> None:
    from local.samples import image_set_table  # noqa: PLC0415

    say(f"moto:           {stack.moto.endpoint_url}")
    say(f"healthimaging:  {stack.emulator.endpoint_url} (data store {stack.datastore_id})")
    say(f"function logs:  {stack.run_dir}/<function name>/")
    say(f"state file:     {state_file}")
    if samples is not None:
        say("")
        say(image_set_table(samples.image_sets))
        first = samples.image_sets[0].image_set_id if samples.image_sets else "<image set id>"
        say("")
        say(f"try: python -m local.submit --image-set-id {first} --set Patient.PatientName=DOE^JANE")
        say("     python -m local.outcomes")
    say(f"ready in {elapsed_s:.1f} s (Ctrl-C to stop)")


def say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    from local.command_line import run

    sys.exit(run(main))
