"""One local Lambda invocation: what it ended as, and the two ways the local stack runs handlers.

- In execution environments (`local.execution_environments`, the default): a worker process per
  environment, as Lambda does. A timeout or a cut-off kills the process: nothing more of that
  invocation runs, its `finally` blocks never reach AWS.
- In process (`InProcessFunction`): the handler runs on the calling thread, so a profiler or a
  debugger sees it; nothing enforces the timeout and nothing can cut it off.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from local.lambda_context import LocalLambdaContext
from local.stack_template import REPO_ROOT

Handler = Callable[[dict[str, Any], Any], Any]
# Lambda's task root: the code asset, whose root is lambdas/ (package `updater`).
LAMBDA_TASK_ROOT = REPO_ROOT / "lambdas"
# Lambda's names for a handler that cannot be imported or exits the runtime.
IMPORT_ERROR = "Runtime.ImportModuleError"
EXIT_ERROR = "Runtime.ExitError"
MARSHAL_ERROR = "Runtime.MarshalError"


class InvocationStatus(StrEnum):
    RETURNED = "returned"
    RAISED = "raised"
    TIMED_OUT = "timed_out"
    CUT_OFF = "cut_off"


@dataclass(frozen=True)
class InvocationResult:
    status: InvocationStatus
    response: Any = None
    # Exception type only: messages may quote request content, and request content may be PHI.
    error_type: str | None = None
    # Where a stopped handler was (code locations only, never values): what made it overrun.
    stopped_at: str | None = None


class FunctionInvoker(Protocol):
    """Runs one function's invocations (the pollers of every mapping that targets it share one)."""

    def invoke(
        self, event: dict[str, Any], context: LocalLambdaContext, cut_off_after_s: float | None = None
    ) -> InvocationResult: ...

    def close(self) -> None: ...


def task_root_importable(task_root: Path = LAMBDA_TASK_ROOT) -> None:
    if str(task_root) not in sys.path:
        sys.path.insert(0, str(task_root))


def import_handler(handler: str, task_root: Path = LAMBDA_TASK_ROOT) -> Handler:
    """The callable a `Handler` setting names (`package.module.function`), as Lambda's Python
    runtime resolves it: the task root first on sys.path, the module imported, the attribute read."""
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {handler!r} is not of the form module.function")
    task_root_importable(task_root)
    function: Handler = getattr(importlib.import_module(module_name.replace("/", ".")), attribute)
    return function


class InProcessEnvironment:
    """This process as the execution environment of in-process functions: their environments go
    to os.environ (until `restore()`), then their handlers are imported. That import is their cold
    start, so a handler whose package was imported before would keep what it built from another
    environment (settings, clients, table names): that is refused."""

    def __init__(self) -> None:
        self._replaced: dict[str, str | None] = {}

    def import_handlers(
        self,
        environments: Iterable[dict[str, str]],
        handlers: Iterable[str],
        task_root: Path = LAMBDA_TASK_ROOT,
    ) -> list[Handler]:
        names = list(handlers)
        already = sorted({name.split(".", 1)[0] for name in names} & set(sys.modules))
        if already:
            raise RuntimeError(
                f"in process: {already} already imported here, so importing the handlers would not be "
                "a cold start; run an in-process stack in a fresh process"
            )
        for environment in environments:
            for name in environment:
                self._replaced.setdefault(name, os.environ.get(name))
            os.environ.update(environment)
        return [import_handler(name, task_root) for name in names]

    def restore(self) -> None:
        for name, previous in self._replaced.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
        self._replaced = {}


class InProcessFunction:
    """A handler run on the calling thread, with no timeout enforced and no cut-off: a fault
    plan's cut-off is ignored, since nothing can stop a thread safely."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    def invoke(
        self, event: dict[str, Any], context: LocalLambdaContext, cut_off_after_s: float | None = None
    ) -> InvocationResult:
        # Lambda hands the function a freshly parsed event: nothing is shared with the poller.
        event = json.loads(json.dumps(event))
        context.restart_clock()
        try:
            return InvocationResult(InvocationStatus.RETURNED, response=self._handler(event, context))
        except Exception as error:  # the handler's failure is the result being reported
            return InvocationResult(InvocationStatus.RAISED, error_type=type(error).__name__)

    def close(self) -> None:
        pass


# faulthandler's traceback lines: `  File "/path/module.py", line 12 in function`.
_FRAME = re.compile(r'^\s+File "(?P<file>.+)", line (?:\d+|\?+) in (?P<function>\S+)')
_THREAD = re.compile(r"^(Current thread|Thread) 0x")


def where_stopped(stack_dump: str, runtime_file: str, task_root: Path = LAMBDA_TASK_ROOT) -> str | None:
    """The innermost function of the task root the handler's thread was in, and the innermost
    function it was running, e.g. `updater/service.py:_settle > sleep`, from a faulthandler dump
    (file and function names only: faulthandler never prints values). The handler's thread is the
    one running `runtime_file` (the execution environment's runtime loop)."""
    threads: list[list[tuple[str, str]]] = []
    for line in stack_dump.splitlines():
        if _THREAD.match(line):
            threads.append([])
        elif (frame := _FRAME.match(line)) and threads:
            threads[-1].append((frame["file"], frame["function"]))
    handler_thread = next((t for t in threads if any(f == runtime_file for f, _ in t)), None)
    if not handler_thread:
        return None
    innermost = handler_thread[0][1]
    root = f"{task_root}/"
    for file, function in handler_thread:
        if file.startswith(root):
            return f"{file[len(root) :]}:{function} > {innermost}"
    return f"(outside the function's code) > {innermost}"
