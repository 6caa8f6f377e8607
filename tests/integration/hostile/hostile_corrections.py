"""Hostile corrections (issue 20): selectors, merges, HL7 v2 ADT messages and content types.

Selector values and HL7 fields are patient data: each carries a marker, which must end in the
failure record's body and nowhere else (not the parent's key, its aggregate outcome, a log line,
a metric or a ledger item).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.integration.hostile.corpus import Ending, Hostile, Markers, Route, Sent, Target, patient

HL7 = "application/hl7-v2"
Build = Callable[[str], tuple[str, str]]


def _content_type(value: str) -> dict[str, Any]:
    return {"messageAttributes": {"contentType": {"dataType": "String", "stringValue": value}}}


def _selector(t: Target, request_id: str, selector: Any, **fields: Any) -> str:
    document = {
        "datastoreId": t.datastore_id,
        "requestId": request_id,
        "selector": selector,
        "DICOMUpdates": {"updatableAttributes": patient(PatientName="HOSTILE^SELECTOR")},
    }
    return json.dumps(document | fields)


def _merge(t: Target, request_id: str, source: dict[str, Any], target: dict[str, Any]) -> str:
    return json.dumps(
        {"datastoreId": t.datastore_id, "requestId": request_id, "merge": {"from": source, "into": target}}
    )


def _adt(event: str, control_id: str, pid: str, message_type: str = "ADT") -> str:
    return "\r".join(
        [
            f"MSH|^~\\&|MIRTH|HOSPITAL|PACS|RAD|20261201083000||{message_type}^{event}|{control_id}|P|2.5.1",
            f"EVN|{event}|20261201083000",
            f"PID|1||{pid}",
        ]
    )


def _json_bodies(t: Target) -> dict[str, Build]:
    return {
        "selector_matching_nobody": lambda m: (
            _selector(t, "hostile-sel-nobody", {"patient": {"PatientID": m}}),
            "SELECTOR_MATCHED_NOTHING",
        ),
        "selector_request_id_as_a_name": lambda m: (
            _selector(t, f"Doe Jane {m}", {"patient": {"PatientID": m}}),
            "INVALID_REQUEST_ID",
        ),
        "selector_patient_id_over_64": lambda m: (
            _selector(t, "hostile-sel-long", {"patient": {"PatientID": m * 10}}),
            "SCHEMA_VIOLATION",
        ),
        "selector_of_two_kinds": lambda m: (
            _selector(
                t,
                "hostile-sel-both",
                {"patient": {"PatientID": m}, "study": {"StudyInstanceUID": "1.2.3"}},
            ),
            "SCHEMA_VIOLATION",
        ),
        "selector_study_uid_as_a_name": lambda m: (
            _selector(t, "hostile-sel-uid", {"study": {"StudyInstanceUID": f"Doe^{m}"}}),
            "SCHEMA_VIOLATION",
        ),
        "selector_out_of_scope": lambda m: (
            _selector(t, "hostile-sel-scope", {"patient": {"PatientID": m}}, datastoreId="0" * 32),
            "DATASTORE_NOT_ALLOWED",
        ),
        "merge_into_a_name_over_324": lambda m: (
            _merge(t, "hostile-merge-long", {"PatientID": m}, {"PatientID": "X1", "PatientName": m * 50}),
            "SCHEMA_VIOLATION",
        ),
    }


def _hl7_bodies() -> dict[str, Build]:
    return {
        "hl7_not_er7": lambda m: (f"Dear PACS, please fix {m}", "HL7_MALFORMED"),
        "hl7_birth_date_not_a_date": lambda m: (
            _adt("A08", "HOSTILE-A08-DATE", f"{m}^^^GOODHEALTH^MR||DOE^{m}||{m}|F"),
            "HL7_FIELD_INVALID",
        ),
        "hl7_update_without_an_identifier": lambda m: (
            _adt("A08", "HOSTILE-A08-NOID", f"||DOE^{m}||19610615|F"),
            "HL7_FIELD_INVALID",
        ),
        # A control id that is no requestId is keyed by its hash; the patient matches nobody.
        "hl7_control_id_as_a_name": lambda m: (
            _adt("A08", f"Smith John {m}", f"{m}^^^GOODHEALTH^MR||DOE^{m}||19610615|F"),
            "SELECTOR_MATCHED_NOTHING",
        ),
    }


def correction_inputs(t: Target, markers: Markers) -> list[Sent]:
    sent: list[Sent] = []
    for name, build in _json_bodies(t).items():
        marker = markers()
        body, code = build(marker)
        sent.append(Hostile(name, marker, code, Route.SQS, body=body))
    for name, build in _hl7_bodies().items():
        marker = markers()
        body, code = build(marker)
        sent.append(Hostile(name, marker, code, Route.SQS, body=body, record=_content_type(HL7)))
    m1, m2, m3, m4 = markers(), markers(), markers(), markers()
    return [
        *sent,
        Hostile(
            "hl7_of_an_event_not_mapped",
            m1,
            "HL7_A01",
            Route.SQS,
            body=_adt("A01", "HOSTILE-A01", f"{m1}^^^GOODHEALTH^MR||DOE^{m1}"),
            record=_content_type(HL7),
            ending=Ending.IGNORED,
        ),
        Hostile(
            "hl7_not_adt",
            m2,
            "HL7_NOT_ADT",
            Route.SQS,
            body=_adt("R01", "HOSTILE-ORU", f"{m2}^^^GOODHEALTH^MR", message_type="ORU"),
            record=_content_type(HL7),
            ending=Ending.IGNORED,
        ),
        Hostile(
            "content_type_unknown",
            m3,
            "UNSUPPORTED_CONTENT_TYPE",
            Route.SQS,
            body=f"<patient>{m3}</patient>",
            record=_content_type(f"text/x-{m3}"),
        ),
        Hostile(
            "content_type_over_64_characters",
            m4,
            "UNSUPPORTED_CONTENT_TYPE",
            Route.SQS,
            body=f"<patient>{m4}</patient>",
            record=_content_type(f"application/{m4 * 10}"),
        ),
    ]
