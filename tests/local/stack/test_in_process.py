"""In process, this process is the functions' execution environment: their environments in its
os.environ until restored, their handlers' import the cold start."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local.lambda_context import LocalLambdaContext
from local.lambda_invocation import InProcessEnvironment, InProcessFunction, InvocationStatus


def test_the_environment_is_set_before_the_import_and_restored_after(tmp_path: Path) -> None:
    (tmp_path / "in_process_probe.py").write_text(
        "import os\nMARK = os.environ['IN_PROCESS_MARK']\n"
        "def handler(event, context):\n"
        "    return {'mark': MARK, 'remaining': context.get_remaining_time_in_millis()}\n"
    )
    environment = InProcessEnvironment()
    (handler,) = environment.import_handlers(
        [{"IN_PROCESS_MARK": "set"}], ["in_process_probe.handler"], tmp_path
    )
    result = InProcessFunction(handler).invoke({}, LocalLambdaContext("probe", "128", timeout_s=5))
    environment.restore()

    assert result.status is InvocationStatus.RETURNED
    assert result.response["mark"] == "set"
    assert 0 < result.response["remaining"] <= 5000
    assert "IN_PROCESS_MARK" not in os.environ


def test_a_handler_whose_package_is_already_imported_is_refused() -> None:
    environment = InProcessEnvironment()
    with pytest.raises(RuntimeError, match="cold start"):
        environment.import_handlers([{"IN_PROCESS_MARK": "set"}], ["json.dumps"])
    assert "IN_PROCESS_MARK" not in os.environ
