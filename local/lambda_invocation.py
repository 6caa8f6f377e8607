"""One local Lambda invocation: the handler runs on its own thread and is stopped at its deadline.

Lambda stops a function that overruns its timeout, wherever it is. Locally the handler thread gets
an asynchronous `InvocationStopped` (a BaseException, so the handler's `except Exception` blocks
cannot swallow it) the moment its time is up, or earlier when a fault plan cuts it off. The
exception lands at the thread's next Python bytecode: a thread blocked inside a socket read stops
when the read returns, which is as soon as the local servers answer.

A stopped Lambda runs nothing more: its `finally` blocks never reach AWS (a lease it held stays
taken until it runs out). Locally the unwinding thread still runs them, so every AWS call it makes
after the stop raises `InvocationStopped` again before anything is sent.
"""

from __future__ import annotations

import ctypes
import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.httpsession import URLLib3Session

from local.lambda_context import LocalLambdaContext

Handler = Callable[[dict[str, Any], Any], Any]
# After stopping the thread, how long to wait for it to unwind before abandoning it.
STOP_GRACE_S = 5.0


class InvocationStopped(BaseException):
    """Raised inside the handler thread when its time is up or a fault plan cuts it off."""


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


_STOPPED_ATTRIBUTE = "lambda_invocation_stopped"


def _refuse_calls_from_stopped_threads() -> None:
    original = URLLib3Session.send
    if getattr(original, "refuses_stopped_threads", False):
        return

    def send(self: URLLib3Session, request: Any) -> Any:
        if getattr(threading.current_thread(), _STOPPED_ATTRIBUTE, False):
            raise InvocationStopped
        return original(self, request)

    send.refuses_stopped_threads = True  # type: ignore[attr-defined]
    URLLib3Session.send = send  # type: ignore[method-assign]


_refuse_calls_from_stopped_threads()


def invoke_handler(
    handler: Handler, event: dict[str, Any], context: LocalLambdaContext, cut_off_after_s: float | None = None
) -> InvocationResult:
    """Runs `handler(event, context)` until it returns, raises, times out or is cut off."""
    # Lambda hands the function a freshly parsed event: nothing is shared with the poller.
    event = json.loads(json.dumps(event))
    outcome: list[InvocationResult] = []

    def run() -> None:
        try:
            outcome.append(InvocationResult(InvocationStatus.RETURNED, response=handler(event, context)))
        except InvocationStopped:
            pass
        except Exception as error:  # the handler's failure is the result being reported
            outcome.append(InvocationResult(InvocationStatus.RAISED, error_type=type(error).__name__))

    thread = threading.Thread(target=run, name=f"lambda-{context.aws_request_id[:8]}", daemon=True)
    thread.start()
    cut_off = cut_off_after_s is not None and cut_off_after_s < context.timeout_s
    thread.join(cut_off_after_s if cut_off else context.timeout_s)
    if thread.is_alive():
        stopped_at = where(thread)
        _stop(thread)
        status = InvocationStatus.CUT_OFF if cut_off else InvocationStatus.TIMED_OUT
        return InvocationResult(status, stopped_at=stopped_at)
    return outcome[0]


def where(thread: threading.Thread) -> str | None:
    """The innermost updater function the thread is in, and the call it is blocked in, e.g.
    `service.py:_settle > time.sleep`: file and function names only, no arguments."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return None
    innermost = frame.f_code.co_name
    while frame is not None and "/lambdas/updater/" not in frame.f_code.co_filename:
        frame = frame.f_back
    if frame is None:
        return f"(outside the updater) > {innermost}"
    path = frame.f_code.co_filename.split("/lambdas/updater/", 1)[1]
    return f"{path}:{frame.f_code.co_name} > {innermost}"


def _stop(thread: threading.Thread) -> None:
    setattr(thread, _STOPPED_ATTRIBUTE, True)
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(InvocationStopped)
        )
    thread.join(STOP_GRACE_S)
