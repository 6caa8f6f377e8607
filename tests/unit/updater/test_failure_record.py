"""Failure records shaped to what real SQS accepts (moto accepts more): 256 KiB counting the body
and every attribute, only the characters SQS allows, nothing empty."""

from __future__ import annotations

import pytest

from updater.adapters.failures import MAX_MESSAGE_BYTES, attributes_size, failure_record, sqs_text


def allowed_by_sqs(text: str) -> bool:
    return all(
        c in "\t\n\r"
        or 0x20 <= ord(c) <= 0xD7FF
        or 0xE000 <= ord(c) <= 0xFFFD
        or 0x10000 <= ord(c) <= 0x10FFFF
        for c in text
    )


@pytest.mark.parametrize(
    "body",
    [
        "x" * MAX_MESSAGE_BYTES,
        "\u00e9" * (MAX_MESSAGE_BYTES // 2),
        "\U0001f9ec" * 70_000,
        "a\x00b\ud800c\x1f",
        "",
    ],
    ids=["full-ascii", "full-2-byte", "4-byte", "controls", "empty"],
)
def test_every_record_fits_and_holds_only_characters_sqs_takes(body: str) -> None:
    text, attributes = failure_record(
        body, request_id="r\x01" + "x" * 200, code="INVALID_JSON", message="m\x00"
    )
    assert text and all(a["StringValue"] for a in attributes.values())
    assert len(text.encode()) + attributes_size(attributes) <= MAX_MESSAGE_BYTES
    assert allowed_by_sqs(text) and all(allowed_by_sqs(a["StringValue"]) for a in attributes.values())


def test_a_body_that_fits_is_kept_whole_and_a_cut_one_says_so() -> None:
    small, attributes = failure_record('{"a": 1}', request_id="r1", code="C", message="m")
    assert small == '{"a": 1}' and "bodyBytes" not in attributes
    cut, attributes = failure_record("x" * MAX_MESSAGE_BYTES, request_id="r1", code="C", message="m")
    assert cut == "x" * len(cut) and attributes["bodyBytes"]["StringValue"] == str(MAX_MESSAGE_BYTES)
    assert len(attributes["bodySha256"]["StringValue"]) == 64


def test_characters_sqs_refuses_become_the_replacement_character() -> None:
    assert sqs_text("a\x00\x08\x0b\ufffe\ud800b\t\n") == "a\ufffd\ufffd\ufffd\ufffd\ufffdb\t\n"
