"""Lambda execution environments on one machine: a worker process per environment, a pool per function.

A new environment is a cold start: a fresh interpreter whose os.environ is the function's
environment before the handler is imported (`local.lambda_runtime`). It serves one invocation at
a time and stays warm for the next, as Lambda reuses environments. When an invocation times out or
a fault plan cuts it off, the environment is asked for its stack (SIGUSR1: faulthandler writes it,
then the process ends at once) and killed: nothing more of that invocation runs, exactly as in
Lambda, and the next invocation starts a new environment.

Each environment's stdout and stderr are its log stream, one file per environment under the
function's log directory (`<log_dir>/env-<n>.log`), as CloudWatch keeps one stream per environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from local.lambda_context import LocalLambdaContext
from local.lambda_invocation import (
    EXIT_ERROR,
    LAMBDA_TASK_ROOT,
    InvocationResult,
    InvocationStatus,
    where_stopped,
)
from local.stack_template import REPO_ROOT
from local.topology import LocalFunction

RUNTIME_FILE = str(Path(__file__).with_name("lambda_runtime.py"))
# Lambda allows an init (imports, clients) 10 s; a loaded host gets more before it counts as stuck.
INIT_TIMEOUT_S = 60.0
# After SIGUSR1 the environment dumps its stack and ends; SIGKILL if it has not within this.
STACK_DUMP_GRACE_S = 2.0
# Interpreter settings passed on from this process (they are not the function's configuration).
PASSED_THROUGH = ("PATH", "PYTHONDONTWRITEBYTECODE")


class EnvironmentLost(Exception):
    """The environment's process ended while an invocation waited on it."""


class ExecutionEnvironment:
    """One worker process running one function's handler."""

    def __init__(
        self,
        function: LocalFunction,
        environment: dict[str, str],
        log_dir: Path,
        number: int,
        task_root: Path,
    ) -> None:
        self.name = f"env-{number:03d}"
        self._log_file = log_dir / f"{self.name}.log"
        self._stack_dump = log_dir / f"{self.name}.stack"
        self._task_root = task_root
        requests_read, self._requests = os.pipe()
        self._responses, responses_write = os.pipe()
        runtime_environment = {
            name: os.environ[name] for name in PASSED_THROUGH if name in os.environ
        } | _lambda_runtime_variables(function, self.name)
        command = [
            sys.executable,
            "-m",
            "local.lambda_runtime",
            f"--task-root={task_root}",
            f"--requests-fd={requests_read}",
            f"--responses-fd={responses_write}",
            f"--stack-dump={self._stack_dump}",
        ]
        with self._log_file.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=task_root,
                env=runtime_environment | environment | {"PYTHONPATH": str(REPO_ROOT)},
                pass_fds=(requests_read, responses_write),
            )
        os.close(requests_read)
        os.close(responses_write)
        self._buffer = b""
        self.alive = True

    def initialise(self) -> InvocationResult | None:
        """Waits for the handler's import; None when ready, else the failed init as a result."""
        answer = self._receive(time.monotonic() + INIT_TIMEOUT_S)
        if answer is not None and answer["status"] == "ready":
            return None
        self.kill()
        error_type = answer["error_type"] if answer else "Runtime.InitTimeout"
        return InvocationResult(InvocationStatus.RAISED, error_type=error_type)

    def invoke(
        self, event: dict[str, Any], context: LocalLambdaContext, cut_off_after_s: float | None
    ) -> InvocationResult:
        limit_s = context.timeout_s
        if cut_off_after_s is not None and cut_off_after_s < limit_s:
            limit_s = cut_off_after_s
        context.restart_clock()
        message = json.dumps({"event": event, "context": context.description()}).encode() + b"\n"
        try:
            self._send(message)
            answer = self._receive(context.started_at + limit_s)
        except EnvironmentLost:
            self.kill()
            return InvocationResult(InvocationStatus.RAISED, error_type=EXIT_ERROR)
        if answer is None:
            cut_off = limit_s < context.timeout_s
            status = InvocationStatus.CUT_OFF if cut_off else InvocationStatus.TIMED_OUT
            return InvocationResult(status, stopped_at=self._stop_and_locate())
        if answer["status"] == "returned":
            return InvocationResult(InvocationStatus.RETURNED, response=answer["response"])
        return InvocationResult(InvocationStatus.RAISED, error_type=answer["error_type"])

    def _send(self, message: bytes) -> None:
        try:
            view = memoryview(message)
            while view:
                view = view[os.write(self._requests, view) :]
        except (BrokenPipeError, OSError) as error:
            raise EnvironmentLost from error

    def _receive(self, until: float) -> dict[str, Any] | None:
        """The next answer line, or None when `until` (monotonic) passes first."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._responses, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = until - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(self._responses, 1 << 16)
                if not chunk:
                    raise EnvironmentLost
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _stop_and_locate(self) -> str | None:
        """Where the handler was (code locations only), then the environment is gone."""
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGUSR1)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(STACK_DUMP_GRACE_S)
        self.kill()
        try:
            dump = self._stack_dump.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None
        return where_stopped(dump, RUNTIME_FILE, self._task_root)

    def kill(self) -> None:
        """SIGKILL: the environment runs nothing more."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._close_pipes()

    def stop(self) -> None:
        """Lambda reclaims an idle environment without warning; waiting for an interpreter to wind
        down would only slow every stack's stop (its log lines are already written)."""
        self.kill()
        with contextlib.suppress(OSError):
            if self._stack_dump.stat().st_size == 0:  # never asked for its stack
                self._stack_dump.unlink()

    def _close_pipes(self) -> None:
        if self.alive:
            self.alive = False
            for descriptor in (self._requests, self._responses):
                with contextlib.suppress(OSError):
                    os.close(descriptor)


def _lambda_runtime_variables(function: LocalFunction, stream: str) -> dict[str, str]:
    """What Lambda's runtime itself sets in every environment (besides the function's variables)."""
    return {
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": function.handler,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
    }


class ExecutionEnvironments:
    """One function's pool: a warm environment when one is free, a cold start otherwise."""

    def __init__(
        self,
        function: LocalFunction,
        environment: dict[str, str],
        log_dir: Path,
        task_root: Path = LAMBDA_TASK_ROOT,
    ) -> None:
        self.function = function
        self._environment = environment
        self.log_dir = log_dir
        self._task_root = task_root
        self._lock = threading.Lock()
        self._idle: list[ExecutionEnvironment] = []
        self._busy: set[ExecutionEnvironment] = set()
        self._started = 0
        self._closed = False
        log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def cold_starts(self) -> int:
        return self._started

    def invoke(
        self, event: dict[str, Any], context: LocalLambdaContext, cut_off_after_s: float | None = None
    ) -> InvocationResult:
        environment, failed_init = self._check_out()
        if failed_init is not None:
            return failed_init
        try:
            return environment.invoke(event, context, cut_off_after_s)
        finally:
            self._check_in(environment)

    def _check_out(self) -> tuple[ExecutionEnvironment, InvocationResult | None]:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the execution environments of {self.function.function_name} are closed")
            if self._idle:
                environment = self._idle.pop()  # the most recently used: warmest caches
                self._busy.add(environment)
                return environment, None
            self._started += 1
            number = self._started
        environment = ExecutionEnvironment(
            self.function, self._environment, self.log_dir, number, self._task_root
        )
        with self._lock:
            self._busy.add(environment)
        failed = environment.initialise()
        if failed is not None:
            self._check_in(environment)
        return environment, failed

    def _check_in(self, environment: ExecutionEnvironment) -> None:
        with self._lock:
            self._busy.discard(environment)
            if environment.alive and not self._closed:
                self._idle.append(environment)
                return
        if environment.alive:
            environment.stop()

    def close(self) -> None:
        """Stops the idle environments; busy ones stop when their invocation ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for environment in idle:
            environment.stop()

    def logs(self) -> str:
        """Every log stream of the function so far, one environment after another."""
        return "".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(self.log_dir.glob("env-*.log"))
        )
