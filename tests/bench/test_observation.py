"""The bench reads when the updater learned of a settle from intake's log lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bench.observation import logged_notices


def _line(timestamp: str, admission: str, **fields: str) -> str:
    return json.dumps(
        {"message": "record admitted", "timestamp": timestamp, "admission": admission, **fields}
    )


def test_the_first_notice_line_of_each_version_is_when_it_was_noticed() -> None:
    logs = "\n".join(
        [
            "START RequestId: 1",  # the runtime's own lines are not JSON
            _line("2026-12-02 01:41:57,688+0000", "notice", imageSetId="a", versionId="2"),
            _line("2026-12-02 01:41:57,120+0000", "notice", imageSetId="a", versionId="2"),  # redelivered
            _line("2026-12-02 01:41:58,001+0000", "notice", imageSetId="a", versionId="3"),
            _line("2026-12-02 01:41:56,000+0000", "forwarded"),
            _line("2026-12-02 01:41:59,000+0000", "notice", imageSetId="b"),  # no version: not read
            '{"admission": "notice", "timestamp": "not a time", "imageSetId": "c", "versionId": "2"}',
        ]
    )
    at = datetime(2026, 12, 2, 1, 41, 57, 120000, tzinfo=UTC).timestamp()
    assert logged_notices(logs) == {("a", "2"): at, ("a", "3"): pytest.approx(at + 0.881)}
