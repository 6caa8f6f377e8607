"""Execution environments run a function the way Lambda does: a cold start per environment, warm
reuse, one invocation at a time, and an environment killed at its timeout or cut-off."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.execution_environments import ExecutionEnvironments
from local.lambda_context import LocalLambdaContext
from local.lambda_invocation import InvocationResult, InvocationStatus
from local.topology import LocalFunction

TASK_ROOT = Path(__file__).resolve().parent / "lambda_task_root"
TIMEOUT_S = 1.5


def probe(handler: str, timeout_s: float = TIMEOUT_S) -> LocalFunction:
    return LocalFunction(
        logical_id="ProbeFunction",
        function_name="probe-function",
        handler=handler,
        timeout_s=timeout_s,
        memory_mb=256,
        environment={"PROBE_MARK": "from-the-template"},
    )


@pytest.fixture
def environments(tmp_path: Path) -> Iterator[Any]:
    pools: list[ExecutionEnvironments] = []

    def start(handler: str, timeout_s: float = TIMEOUT_S) -> ExecutionEnvironments:
        function = probe(handler, timeout_s)
        pool = ExecutionEnvironments(function, function.environment, tmp_path / handler, task_root=TASK_ROOT)
        pools.append(pool)
        return pool

    yield start
    for pool in pools:
        pool.close()


def invoke(pool: ExecutionEnvironments, event: dict[str, Any], **options: Any) -> InvocationResult:
    function = pool.function
    context = LocalLambdaContext(function.function_name, str(function.memory_mb), function.timeout_s)
    return pool.invoke(event, context, **options)


def log_lines(pool: ExecutionEnvironments) -> list[dict[str, Any]]:
    return [json.loads(line) for line in pool.logs().splitlines() if line.startswith("{")]


def test_an_environment_imports_the_handler_with_the_functions_environment_and_stays_warm(
    environments: Any,
) -> None:
    pool = environments("probe_function.report")
    first = invoke(pool, {"n": 1})
    second = invoke(pool, {"n": 2})

    assert first.status is second.status is InvocationStatus.RETURNED
    assert (first.response["invocation"], second.response["invocation"]) == (1, 2)
    assert first.response["pid"] == second.response["pid"]  # the same process, warm
    assert second.response["event"] == {"n": 2}
    assert pool.cold_starts == 1
    lines = log_lines(pool)
    assert lines[0] == {"cold_start": "from-the-template", "pid": first.response["pid"]}
    report = lines[1]
    assert report["function_name"] == "probe-function"
    assert report["memory"] == "256"
    assert report["arn"].endswith(":function:probe-function")
    assert report["handler"] == "probe_function.report"
    assert 0 < report["remaining_ms"] <= TIMEOUT_S * 1000
    assert "a line on stderr" in pool.logs()


def test_concurrent_invocations_get_environments_of_their_own(environments: Any) -> None:
    pool = environments("probe_function.slow")
    results: list[InvocationResult] = []
    threads = [
        threading.Thread(target=lambda n=n: results.append(invoke(pool, {"n": n, "seconds": 0.5})))
        for n in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [r.status for r in results] == [InvocationStatus.RETURNED] * 2
    # A second environment starts only while the first one is busy: they ran side by side.
    assert pool.cold_starts == 2


def test_a_timed_out_invocation_is_killed_says_where_and_the_next_one_is_a_cold_start(
    environments: Any,
) -> None:
    pool = environments("probe_function.slow")
    result = invoke(pool, {"n": 1, "seconds": 30})

    assert result.status is InvocationStatus.TIMED_OUT
    assert result.stopped_at == "probe_function.py:wait_in_the_function > wait_in_the_function"
    assert invoke(pool, {"n": 2, "seconds": 0}).status is InvocationStatus.RETURNED
    assert pool.cold_starts == 2
    steps = [(line["step"], line["n"]) for line in log_lines(pool) if "step" in line]
    # The killed environment ran nothing more: no "after" for the first invocation.
    assert steps == [("before", 1), ("before", 2), ("after", 2)]


def test_a_cut_off_invocation_is_killed_before_its_timeout(environments: Any) -> None:
    pool = environments("probe_function.slow", timeout_s=30)
    started = time.monotonic()
    result = invoke(pool, {"n": 1, "seconds": 20}, cut_off_after_s=0.3)

    assert result.status is InvocationStatus.CUT_OFF
    assert result.stopped_at is not None and result.stopped_at.startswith("probe_function.py:")
    assert time.monotonic() - started < 10
    assert [line.get("step") for line in log_lines(pool) if "step" in line] == ["before"]


def test_an_exception_is_reported_by_type_and_its_message_is_not_written_anywhere(
    environments: Any,
) -> None:
    pool = environments("probe_function.failing")
    result = invoke(pool, {})

    assert (result.status, result.error_type) == (InvocationStatus.RAISED, "RuntimeError")
    assert "SENTINEL" not in pool.logs()
    assert invoke(pool, {}).status is InvocationStatus.RAISED
    assert pool.cold_starts == 1  # an error leaves the environment warm


def test_an_environment_that_exits_or_answers_unserialisably_fails_its_invocation(
    environments: Any,
) -> None:
    exiting = invoke(environments("probe_function.exiting"), {})
    assert (exiting.status, exiting.error_type) == (InvocationStatus.RAISED, "Runtime.ExitError")
    unserialisable = invoke(environments("probe_function.unserialisable"), {})
    assert (unserialisable.status, unserialisable.error_type) == (
        InvocationStatus.RAISED,
        "Runtime.MarshalError",
    )


def test_a_handler_that_cannot_be_imported_fails_each_invocation_with_its_init(
    environments: Any,
) -> None:
    pool = environments("no_such_module.handler")
    results = [invoke(pool, {}) for _ in range(2)]

    assert {(r.status, r.error_type) for r in results} == {
        (InvocationStatus.RAISED, "Runtime.ImportModuleError:ModuleNotFoundError")
    }
    assert pool.cold_starts == 2  # Lambda tries the init again on the next invocation
