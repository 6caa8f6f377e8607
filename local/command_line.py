"""What every `python -m local.*` command shares: user mistakes end in one line and exit code 2.

A traceback is for bugs. Whatever a user can cause (a missing or broken file, a wrong stage, no
running stack, a state file left by a stack that has stopped, Ctrl-C) is reported as one line
naming the problem, through `UserError` or the few library errors `user_caused` recognises.
Heavy modules are imported only when needed, so `--help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

USAGE_ERROR = 2
INTERRUPTED = 130
START_HINT = "start one with: python -m local.stack"


class UserError(Exception):
    """A mistake of the person running the command; the message says what and, if it can, what to do."""


def documented_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """A parser whose help is the command's docstring: its title line, then the rest after the options."""
    title, _, rest = (doc or "").partition("\n\n")
    summary = title.split(": ", 1)[-1]
    return argparse.ArgumentParser(
        prog=prog,
        description=summary[:1].upper() + summary[1:],
        epilog=rest.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Runs a command's main and turns what a user can cause into `error: <one line>`, exit 2."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        message = user_caused(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return USAGE_ERROR


def user_caused(error: Exception) -> str | None:
    """The one-line message for an error a user can cause, or None for a bug."""
    if isinstance(error, UserError):
        return " ".join(str(error).split())
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError  # noqa: PLC0415

    if isinstance(error, EndpointConnectionError | ConnectionClosedError):
        return f"the local stack stopped answering ({error}); {START_HINT}"
    from infra.config import ConfigError  # noqa: PLC0415

    if isinstance(error, ConfigError):
        return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return None


def read_json_file(path: Path, what: str = "file") -> Any:
    """A JSON document from a file the user named."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a {what}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read it ({error})") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise UserError(f"{path}: not valid JSON ({error})") from None


def checked_stage(stage: str) -> str:
    """The stage name when cdk.json (and cdk.context.local.json) define it; otherwise a UserError."""
    from infra.config import ConfigError, load_stage_config  # noqa: PLC0415

    try:
        load_stage_config(stage)
    except ConfigError as error:
        raise UserError(str(error)) from None
    return stage


def open_running_stack(state_file: Path) -> Any:
    """The stack `python -m local.stack` runs, from its state file, checked to be answering."""
    from local.stack import RunningStack  # noqa: PLC0415

    if not state_file.is_file():
        raise UserError(f"no running local stack: {state_file} is missing; {START_HINT}")
    try:
        stack = RunningStack.read(state_file)
    except (ValueError, KeyError, TypeError):
        raise UserError(
            f"{state_file} is not a state file of python -m local.stack (delete it); {START_HINT}"
        ) from None
    for url in (stack.moto_endpoint_url, stack.healthimaging_endpoint_url):
        if not _answers(url):
            raise UserError(
                f"stale state file {state_file}: nothing answers at {url}, the stack that wrote it "
                f"has stopped; {START_HINT}"
            )
    return stack


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1):
            return True
    except OSError:
        return False
