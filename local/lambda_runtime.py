"""The runtime inside one local execution environment (a worker process), as Lambda's Python
runtime does it: `python -m local.lambda_runtime --task-root DIR --requests-fd N --responses-fd M
--stack-dump FILE`, started by `local.execution_environments` with the function's environment.

Init (the cold start): the task root goes first on sys.path and the handler named by `_HANDLER` is
imported, in a process whose os.environ already is the function's environment. Then one
invocation at a time: a JSON line on the requests pipe (`event`, `context`), the handler's answer
as a JSON line on the responses pipe. The process stays warm between invocations.

stdout and stderr are the function's log stream (line-buffered, so a killed environment loses no
finished line). SIGUSR1 writes every thread's stack (file and function names only) to the stack
dump file and then ends the process at once (faulthandler chains to the default action): what the
parent does to an invocation that timed out or was cut off.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, BinaryIO

from local.lambda_context import LocalLambdaContext
from local.lambda_invocation import IMPORT_ERROR, MARSHAL_ERROR, Handler, import_handler

RUNTIME_FILE = __file__


def _answer(responses: BinaryIO, message: dict[str, Any]) -> None:
    responses.write(json.dumps(message).encode() + b"\n")
    responses.flush()


def _invoke(handler: Handler, request: dict[str, Any]) -> dict[str, Any]:
    context = LocalLambdaContext.from_description(request["context"])
    try:
        response = handler(request["event"], context)
    except Exception as error:  # reported as the invocation's error: its type only, never its message
        return {"status": "raised", "error_type": type(error).__name__}
    try:
        json.dumps(response)
    except (TypeError, ValueError):
        return {"status": "raised", "error_type": MARSHAL_ERROR}
    return {"status": "returned", "response": response}


def serve(handler: Handler, requests: BinaryIO, responses: BinaryIO) -> None:
    for line in requests:  # ends when the parent closes the pipe
        _answer(responses, _invoke(handler, json.loads(line)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.lambda_runtime")
    parser.add_argument("--task-root", type=Path, required=True)
    parser.add_argument("--requests-fd", type=int, required=True)
    parser.add_argument("--responses-fd", type=int, required=True)
    parser.add_argument("--stack-dump", type=Path, required=True)
    arguments = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    stack_dump = arguments.stack_dump.open("w", encoding="utf-8")
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    faulthandler.register(signal.SIGUSR1, file=stack_dump, all_threads=True, chain=True)
    requests = os.fdopen(arguments.requests_fd, "rb")
    responses = os.fdopen(arguments.responses_fd, "wb")
    try:
        handler = import_handler(os.environ["_HANDLER"], arguments.task_root)
    except Exception as error:  # Lambda reports a failed init on the invocation that started it
        _answer(responses, {"status": "init_failed", "error_type": f"{IMPORT_ERROR}:{type(error).__name__}"})
        return 1
    _answer(responses, {"status": "ready"})
    serve(handler, requests, responses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
