"""`make demo` keeps working: its own expectations (outcomes, DLQ reasons, import summary) all hold."""

from __future__ import annotations

import pytest

from local import demo

pytestmark = pytest.mark.integration


def test_the_demo_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([]) == 0
    report = capsys.readouterr().out
    assert "demo passed" in report
    assert "NOOP" in report and "demo-revert" in report and "INVALID_JSON" in report
    assert "import job" in report and "1 failed files" in report
