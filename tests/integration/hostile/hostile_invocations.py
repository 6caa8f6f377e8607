"""Hostile records and invocations: records to the finalizer and to apply that intake never sent,
and whole invocation events that are not what an event source mapping sends."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.hostile.corpus import (
    Ending,
    Good,
    Hostile,
    Markers,
    Route,
    Sent,
    Target,
    good,
    study,
    update,
)
from tests.integration.hostile.hostile_events import envelope, import_detail


def finalize_inputs(t: Target, markers: Markers) -> list[Sent]:
    """Records of the ingest DLQ: the finalizer ends each with the same code intake would have."""
    m1, m2, m3, m4, m5 = (markers() for _ in range(5))
    bodies = {
        "dead_letter_image_set_by_marker": (
            "INVALID_IMAGE_SET_ID",
            update(t, "dl-1", study(StudyDescription=m1)) | {"imageSetId": m1},
        ),
        "dead_letter_unknown_kind": ("UNKNOWN_ENVELOPE", envelope(m2, {"x": m2}, source="client")),
        "dead_letter_reuse": (
            "REQUEST_ID_REUSED",
            update(t, "good-reused-at-once", study(StudyDescription=m3)),
        ),
        "dead_letter_request_id_control": (
            "INVALID_REQUEST_ID",
            update(t, f"{m4}\x1b", study(StudyDescription=m4)),
        ),
        # Intake never believed a service event on a caller queue; nor does the finalizer of its DLQ.
        "dead_letter_import_job_by_marker": (
            "UNTRUSTED_SERVICE_EVENT",
            envelope("Import Job Completed", import_detail(t, jobId=m5)),
        ),
    }
    markers_of = dict(zip(bodies, (m1, m2, m3, m4, m5), strict=True))
    return [
        Hostile(name, markers_of[name], code, Route.FINALIZE, body=json.dumps(body))
        for name, (code, body) in bodies.items()
    ]


def lane_inputs(t: Target, markers: Markers) -> list[Sent]:
    """Lane records intake never sent: apply ends each at once, keyed by its content."""
    m1, m2 = markers(), markers()
    forged = {
        "v": 1,
        "request": update(t, f"{m1} forged", study(StudyDescription=m1)),
        "trigger": "sqs",
        "receivedAtMs": 1,
    }
    return [
        Hostile("lane_message_with_invalid_ids", m1, "INTERNAL_ERROR", Route.LANE, body=json.dumps(forged)),
        Hostile(
            "lane_message_not_json",
            m2,
            "INTERNAL_ERROR",
            Route.LANE,
            body="{" + m2,
            record={"attributes": {"ApproximateReceiveCount": m2}},
        ),
    ]


def direct_inputs(t: Target, markers: Markers) -> list[Sent]:
    """Invocation events no event source mapping sends: answered empty, counted with a reason; the
    functions have no other path, so a request given as the event itself is not applied."""
    sent: list[Sent] = []

    def direct(name: str, code: str, event: Any, function: str = "ingest", count: int = 1) -> None:
        text = json.dumps(event)
        marker = text[text.index("MRK") : text.index("MRK") + 8] if "MRK" in text else ""
        sent.append(
            Hostile(
                name,
                marker,
                code,
                Route.DIRECT,
                event=event,
                function=function,
                ending=Ending.UNANSWERABLE,
                unanswerable=count,
            )
        )

    for function in ("ingest", "fifo_lane", "ingest_dlq"):
        direct(f"empty_records_{function}", "NO_RECORDS", {"Records": [], "note": markers()}, function)
        direct(f"records_as_text_{function}", "NOT_AN_SQS_EVENT", {"Records": markers()}, function)
    m = markers()
    direct("request_as_the_event", "NOT_AN_SQS_EVENT", update(t, "direct-1", study(StudyDescription=m)))
    direct("records_as_object", "NOT_AN_SQS_EVENT", {"Records": {markers(): 1}})
    direct("event_as_a_list", "NOT_AN_SQS_EVENT", [markers()])
    direct(
        "records_without_message_ids",
        "RECORD_WITHOUT_MESSAGE_ID",
        {"Records": [7, None, {"body": markers()}]},
        count=3,
    )
    direct(
        "message_id_with_a_space",
        "RECORD_WITHOUT_MESSAGE_ID",
        {"Records": [{"messageId": f"{markers()} id", "body": "{}"}]},
    )
    direct(
        "message_id_too_long",
        "RECORD_WITHOUT_MESSAGE_ID",
        {"Records": [{"messageId": "x" * 300 + markers()}]},
        "fifo_lane",
    )
    m1, m2 = markers(), markers()
    odd = {"messageId": "direct-odd-1", "attributes": m1, "receiptHandle": f"{m1}\n", "eventSourceARN": m1}
    # A record with a message id is answered: its odd fields are dropped, its body ends with a code.
    sent.append(
        Hostile(
            "record_with_odd_fields",
            m1,
            "INVALID_JSON",
            Route.DIRECT,
            event={"Records": [odd | {"body": '{"x": "' + m1}]},
        )
    )
    sent.append(
        Hostile(
            "record_with_an_object_body",
            m2,
            "INVALID_JSON",
            Route.DIRECT,
            event={"Records": [odd | {"messageId": "direct-odd-2", "body": {"patient": m2}}]},
            record_body="(empty body)",
        )
    )
    return sent


def good_mates(t: Target, markers: Markers, count: int, prefix: str, route: Route = Route.SQS) -> list[Good]:
    return [good(t, f"{prefix}-{i}", markers(), route) for i in range(count)]
