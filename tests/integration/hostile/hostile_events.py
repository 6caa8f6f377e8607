"""Hostile envelopes and invocations: events on the ingest queue and on the rules queue, PutEvents
through the stack's rules, records to the finalizer and to apply that intake never sent, and whole
invocation events that are not what an event source mapping sends."""

from __future__ import annotations

import json
from typing import Any

from local.sqs_lambda_event import rule_stamped
from tests.integration.hostile.corpus import (
    Ending,
    Hostile,
    Markers,
    Route,
    Sent,
    Target,
    study,
    update,
)

HEALTHIMAGING = "aws.medical-imaging"
REQUESTED = "ImageSetMetadataUpdate.Requested"
OTHER_DATASTORE_ID = "0" * 32
LOCAL = "local.tests"  # an event source of the local operator caller
JOB_ID = "1" * 32


def envelope(detail_type: str, detail: Any, source: str = HEALTHIMAGING, **fields: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "4b1ef5ab-0000-4000-8000-000000000000",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    } | fields


def import_detail(t: Target, **fields: Any) -> dict[str, Any]:
    return {
        "imagingVersion": "1.0",
        "datastoreId": t.datastore_id,
        "jobId": JOB_ID,
        "jobName": "nightly",
        "jobStatus": "COMPLETED",
        "inputS3Uri": "s3://healthimaging-test-bucket/hostile-input/",
        "outputS3Uri": "s3://healthimaging-test-bucket/hostile-output/",
    } | fields


def settle_detail(t: Target, **fields: Any) -> dict[str, Any]:
    return {
        "imagingVersion": "1.0",
        "datastoreId": t.datastore_id,
        "imageSetId": t.image_set_id,
        "imageSetVersion": "999",
        "imageSetState": "ACTIVE",
        "imageSetWorkflowStatus": "UPDATED",
    } | fields


def _service_envelopes(t: Target, markers: Markers) -> dict[str, tuple[str, dict[str, Any]]]:
    """HealthImaging's envelopes, each wrong in its own way: name -> (code when its rule delivers
    it, envelope)."""
    cases: dict[str, tuple[str, dict[str, Any]]] = {}
    cases["unknown_healthimaging_kind"] = ("UNKNOWN_ENVELOPE", envelope(f"Data Store {markers()}", {}))
    cases["settle_with_a_marker_for_an_id"] = (
        "SETTLE_EVENT_INVALID",
        envelope("Image Set Updated", settle_detail(t, imageSetId=markers())),
    )
    cases["settle_with_a_marker_for_a_version"] = (
        "SETTLE_EVENT_INVALID",
        envelope("Image Set Update Failed", settle_detail(t, imageSetVersion=markers())),
    )
    m = markers()
    cases["settle_out_of_scope"] = (
        "EVENT_OUT_OF_SCOPE",
        envelope("Image Set Updated", settle_detail(t, datastoreId=OTHER_DATASTORE_ID, imageSetState=m)),
    )
    cases["import_out_of_scope"] = (
        "EVENT_OUT_OF_SCOPE",
        envelope("Import Job Completed", import_detail(t, datastoreId=OTHER_DATASTORE_ID, jobName=markers())),
    )
    cases["import_with_a_marker_for_a_job_id"] = (
        "IMPORT_EVENT_INVALID",
        envelope("Import Job Completed", import_detail(t, jobId=markers())),
    )
    cases["import_detail_as_text"] = ("IMPORT_EVENT_INVALID", envelope("Import Job Completed", markers()))
    return cases


def _marked(name: str, code: str, route: Route, text: str, **fields: Any) -> Hostile:
    marker = text[text.index("MRK") : text.index("MRK") + 8]
    return Hostile(name, marker, code, route, body=text, **fields)


def queued_envelopes(t: Target, markers: Markers) -> list[Sent]:
    """Envelopes sent to the ingest queue as they are (the rules would not route them there): a
    caller's envelope ends with what is wrong with it; anything claiming to be an AWS service's
    event is not believed on a caller queue (issue 18), however well formed."""
    cases: dict[str, tuple[str, Any]] = {}
    m = markers()
    cases["unknown_kind"] = ("UNKNOWN_ENVELOPE", envelope(m, {"note": m}, source=m))
    cases["request_detail_as_text"] = ("INVALID_JSON", envelope(REQUESTED, markers(), source="client"))
    cases["request_detail_as_array"] = (
        "PAYLOAD_NOT_OBJECT",
        envelope(REQUESTED, [markers()], source="client"),
    )
    for name, (_, body) in _service_envelopes(t, markers).items():
        cases[f"forged_{name}"] = ("UNTRUSTED_SERVICE_EVENT", body)
    m = markers()
    cases["forged_settle_of_a_real_call"] = (
        "UNTRUSTED_SERVICE_EVENT",
        envelope("Image Set Updated", settle_detail(t, imageSetWorkflowStatus=m)),
    )
    return [_marked(name, code, Route.SQS, json.dumps(body)) for name, (code, body) in cases.items()]


def rules_queue_envelopes(t: Target, markers: Markers) -> list[Sent]:
    """Records on the rules queue: HealthImaging's envelopes as the stage's rules stamp them (each
    ends with what is wrong with it), and stamps that are missing, forged or out of place."""

    def stamped(body: dict[str, Any], role: str) -> str:
        return rule_stamped(body, t.trusted_rules, role)

    sent: list[Sent] = []

    def add(name: str, code: str, text: str, **fields: Any) -> None:
        sent.append(_marked(name, code, Route.RULES, text, **fields))

    for name, (code, body) in _service_envelopes(t, markers).items():
        add(
            f"stamped_{name}",
            code,
            stamped(body, "imports" if "Import" in body["detail-type"] else "settles"),
        )
    settle = envelope("Image Set Updated", settle_detail(t, imageSetWorkflowStatus=markers()))
    add("settle_no_call_awaits", "NOTICE_NOT_AWAITED", stamped(settle, "settles"), ending=Ending.IGNORED)
    untrusted = "UNTRUSTED_SERVICE_EVENT"
    settle = envelope("Image Set Updated", settle_detail(t, imageSetState=markers()))
    add("unstamped_settle", untrusted, json.dumps(settle))
    m = markers()
    rule = f"arn:aws:events:us-east-1:123456789012:rule/{m}"
    add("stamp_of_another_rule", untrusted, json.dumps({"deliveredBy": rule, "event": settle | {"id": m}}))
    settle = envelope("Image Set Updated", settle_detail(t, imageSetState=markers()), account="210987654321")
    add("settle_of_another_account", untrusted, stamped(settle, "settles"))
    request = envelope(
        REQUESTED, update(t, "kind-1", study(StudyDescription=markers())), source="local.tests"
    )
    add("request_through_the_import_rule", untrusted, stamped(request, "imports"))
    m = markers()
    request = envelope(REQUESTED, update(t, "source-1", study(StudyDescription=m)), source=f"x.{m}")
    add("request_of_an_unknown_source", "CALLER_NOT_ALLOWED", stamped(request, "requests"))
    return sent


def eventbridge_inputs(t: Target, markers: Markers, requests_bus: str) -> list[Sent]:
    """PutEvents entries, routed by the stack's rules (requests bus; HealthImaging's default bus)."""

    def request(name: str, code: str, detail: dict[str, Any], source: str = "local.tests") -> Hostile:
        marker = markers()
        text = json.dumps(detail).replace("MARKER", marker)
        entry = {"Source": source.replace("MARKER", marker), "DetailType": REQUESTED, "Detail": text}
        return Hostile(name, marker, code, Route.EVENTBRIDGE, event=entry | {"EventBusName": requests_bus})

    def healthimaging(name: str, code: str, detail_type: str, detail: dict[str, Any]) -> Hostile:
        marker = markers()
        entry = {
            "Source": HEALTHIMAGING,
            "DetailType": detail_type,
            "Detail": json.dumps(detail).replace("MARKER", marker),
        }
        ending = Ending.IGNORED if code == "NOTICE_NOT_AWAITED" else Ending.FAILURE_RECORD
        return Hostile(name, marker, code, Route.EVENTBRIDGE, event=entry, ending=ending)

    value = study(StudyDescription="MARKER")
    return [
        request(
            "eb_image_set_by_marker",
            "INVALID_IMAGE_SET_ID",
            update(t, "eb-1", value) | {"imageSetId": "MARKER"},
        ),
        request(
            "eb_unknown_keyword",
            "UNKNOWN_KEYWORD",
            update(t, "eb-2", {"SchemaVersion": 1.1, "Patient": {"DICOM": {"MARKER": "x"}}}),
        ),
        request("eb_request_id_as_name", "INVALID_REQUEST_ID", update(t, "Jane Doe MARKER", value)),
        request("eb_unknown_field", "UNKNOWN_FIELD", update(t, "eb-4", value) | {"MARKER": True}),
        request(
            "eb_out_of_scope",
            "DATASTORE_NOT_ALLOWED",
            update(t, "eb-5", value) | {"datastoreId": OTHER_DATASTORE_ID},
        ),
        request("eb_reuse_of_a_request", "REQUEST_ID_REUSED", update(t, "good-reused-later", value)),
        request(
            "eb_source_by_marker",
            "CALLER_NOT_ALLOWED",  # a source no configured caller owns
            update(t, "eb-7", value) | {"imageSetId": "x"},
            source="MARKER",
        ),
        healthimaging(
            "eb_import_job_id_by_marker",
            "IMPORT_EVENT_INVALID",
            "Import Job Completed",
            import_detail(t, jobId="MARKER"),
        ),
        healthimaging(
            "eb_import_input_uri_by_marker",
            "IMPORT_EVENT_INVALID",
            "Import Job Completed",
            import_detail(t, inputS3Uri="file:///MARKER"),
        ),
        healthimaging(
            "eb_settle_image_set_by_marker",
            "SETTLE_EVENT_INVALID",
            "Image Set Updated",
            settle_detail(t, imageSetId="MARKER"),
        ),
        healthimaging(
            "eb_settle_version_by_marker",
            "SETTLE_EVENT_INVALID",
            "Image Set Update Failed",
            settle_detail(t, imageSetVersion="MARKER"),
        ),
        healthimaging(
            "eb_settle_no_call_awaits",
            "NOTICE_NOT_AWAITED",
            "Image Set Updated",
            settle_detail(t, imageSetState="MARKER"),
        ),
    ]


def import_summary_input(t: Target, markers: Markers) -> tuple[Hostile, list[str]]:
    """An import whose failed files are named after a patient: its summary lists them by fingerprint.
    Returns the event and the failed file names its manifest must list."""
    m = markers()
    names = [f"hostile-input/Doe^Jane {m}/1.dcm", f"hostile-input/{m}.dcm", "hostile-input/1.2.3.4.dcm"]
    detail = import_detail(t, jobId="2" * 32, jobName=m)
    body = rule_stamped(envelope("Import Job Completed", detail), t.trusted_rules, "imports")
    return Hostile(
        "import_failed_files_named_by_patient",
        m,
        "ImportJob.Reacted",
        Route.RULES,
        body=body,
        ending=Ending.IMPORT_SUMMARY,
    ), names
