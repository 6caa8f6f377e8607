from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from updater.domain.validation.vr_values import is_valid_uid, vr_value_problem

ACCEPTED = [
    ("DA", "20240229"), ("DA", "19000101"), ("DA", "20240101 "), ("DA", ""), ("DA", None),
    ("TM", "23"), ("TM", "2359"), ("TM", "235960"), ("TM", "083501.123456"),
    ("DT", "2024"), ("DT", "202402"), ("DT", "20240229103000.5+0100"), ("DT", "20240101-0500"),
    ("UI", "1.2.840.10008.5.1.4.1.1.2"), ("UI", "0.1"), ("UI", "1.2.3\x00"),
    ("PN", "MX^MX"), ("PN", "Yamada^Tarou=山田^太郎=やまだ^たろう"), ("PN", "A^B^C^D^E"),
    ("CS", "ORIGINAL"), ("CS", "HEAD_FIRST 1"), ("CS", "M"),
    ("LO", "x" * 64), ("SH", "x" * 16), ("ST", "line\r\nbreak"), ("LT", "x" * 10240),
    ("AS", "045Y"), ("AS", "003D"), ("IS", "12"), ("IS", "-5 "), ("IS", 7), ("DS", "70.5"), ("DS", "1e3"),
    ("DS", 1.5), ("DS", " 1 "), ("US", 65535), ("SS", -32768), ("UL", 0), ("SL", 2**31 - 1), ("FL", 1.25),
    ("FD", 3), ("AT", "00100010"), ("AE", "STORESCP"), ("UT", "any text"), ("UR", "https://example.org/x"),
    ("US or SS", -1), ("OB or OW", None), ("SQ", [{"CodeValue": "1"}]), ("SQ", []), ("DA", ["20240101"]),
]  # fmt: skip

REJECTED = [
    ("DA", "2024-02-29", "DA"), ("DA", "20230229", "DA"), ("DA", "20241301", "DA"), ("DA", 20240101, "DA"),
    ("TM", "24", "TM"), ("TM", "2360", "TM"), ("TM", "12:30", "TM"), ("TM", "1", "TM"),
    ("DT", "2024130", "DT"), ("DT", "20240230", "DT"), ("DT", "20240101+2500", "DT"),
    ("UI", "1.02.3", "UI"), ("UI", "1..2", "UI"), ("UI", "1.2.a", "UI"), ("UI", "1." + "2" * 63, "64"),
    ("PN", "A^B^C^D^E^F", "5 components"), ("PN", "a=b=c=d", "3 component groups"), ("PN", "x" * 65, "64"),
    ("PN", "A\\B", "backslash"), ("CS", "lower", "CS"), ("CS", "X" * 17, "CS"), ("CS", "A-B", "CS"),
    ("LO", "x" * 65, "64"), ("LO", "tab\nnewline", "control"), ("SH", "x" * 17, "16"),
    ("ST", "x" * 1025, "1024"),
    ("LT", "x" * 10241, "10240"), ("AS", "45Y", "AS"), ("AS", "045X", "AS"), ("IS", "1.5", "IS"),
    ("IS", "9999999999", "IS"), ("IS", 1.5, "IS"), ("DS", "abc", "DS"), ("DS", "1" * 17, "DS"),
    ("US", -1, "US"), ("US", 65536, "US"), ("US", "1", "US"), ("US", True, "US"), ("SS", 40000, "SS"),
    ("FL", "1.0", "FL"), ("FD", float("inf"), "FD"), ("AT", "0010001", "AT"), ("AE", "A" * 17, "16"),
    ("US or SS", 70000, "US"), ("OB", "AAAA", "null"), ("SQ", "text", "SQ"), ("SQ", ["x"], "SQ"),
    ("LO", {"Alphabetic": "x"}, "LO"), ("DA", ["20240101", "bad"], "DA"), ("XX", "x", "unsupported"),
]  # fmt: skip


@pytest.mark.parametrize(("vr", "value"), ACCEPTED)
def test_values_that_fit_their_vr_are_accepted(vr: str, value: Any) -> None:
    assert vr_value_problem(vr, value) is None


@pytest.mark.parametrize(("vr", "value", "rule_words"), REJECTED)
def test_values_that_break_their_vr_name_the_rule(vr: str, value: Any, rule_words: str) -> None:
    problem = vr_value_problem(vr, value)
    assert problem is not None
    assert rule_words in problem


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1, 1, 1), max_value=date(9998, 12, 31)))
def test_every_calendar_date_is_a_valid_da_and_the_day_after_the_month_end_is_not(day: date) -> None:
    assert vr_value_problem("DA", f"{day.year:04d}{day.month:02d}{day.day:02d}") is None
    month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    impossible = f"{month_end.year:04d}{month_end.month:02d}{month_end.day + 1:02d}"
    assert vr_value_problem("DA", impossible) is not None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=2, max_size=10))
def test_uids_built_from_components_without_leading_zeros_are_valid_when_short_enough(
    parts: list[int],
) -> None:
    uid = ".".join(str(part) for part in parts)
    assert is_valid_uid(uid) == (len(uid) <= 64)
    assert not is_valid_uid(uid + ".01")


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["AE", "AS", "AT", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC",
                     "UI", "UR", "UT", "US", "SS", "UL", "SL", "FL", "FD", "SQ", "OB", "US or SS"]),
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80)
    | st.lists(st.text(max_size=5), max_size=3)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
def test_vr_checks_are_total_and_never_echo_the_value(vr: str, value: Any) -> None:
    problem = vr_value_problem(vr, value)
    assert problem is None or isinstance(problem, str)
    if problem and isinstance(value, str) and len(value) >= 4:
        assert value not in problem


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59), st.integers(0, 59))
def test_every_wall_clock_time_is_a_valid_tm(hour: int, minute: int, second: int) -> None:
    assert vr_value_problem("TM", f"{hour:02d}{minute:02d}{second:02d}") is None
    assert vr_value_problem("TM", f"{hour + 24:02d}{minute:02d}") is not None
