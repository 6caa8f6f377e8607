"""The cheaper moto hot spots give the answers moto's own code gives."""

from __future__ import annotations

import time
from datetime import datetime

import moto.backends
import moto.sqs.models

from local import moto_speedups


def test_the_sqs_clock_reads_the_same_time_as_motos_datetime_arithmetic() -> None:
    moto_speedups.install()
    before = moto_speedups._original_unix_time_millis()
    fast = moto.sqs.models.unix_time_millis()
    after = moto_speedups._original_unix_time_millis()
    assert before <= fast <= after + 1  # same epoch and unit; at most rounding apart
    assert abs(moto.sqs.models.unix_time() * 1000 - fast) < 1000
    given = datetime(2026, 11, 30, 1, 2, 3)
    assert moto.sqs.models.unix_time_millis(given) == moto_speedups._original_unix_time_millis(given)


def test_the_module_list_is_moto_s_own_read_once() -> None:
    moto_speedups.install()
    modules = set(moto.backends.list_of_moto_modules())
    assert modules == set(moto_speedups._original_list_of_moto_modules())
    assert {"sqs", "dynamodb", "events", "s3"} <= modules
    assert "__pycache__" not in modules


def test_a_message_becomes_visible_when_its_visibility_timeout_ends() -> None:
    moto_speedups.install()
    message = moto.sqs.models.Message("id", "body")
    message.change_visibility(1)
    assert not message.visible
    time.sleep(1.05)
    assert message.visible
