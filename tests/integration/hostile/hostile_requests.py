"""Hostile request bodies: the envelope, the ids, the attribute documents, the reuse of requestIds.

Each builder gets a fresh marker and returns the body and the code the contract promises for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.integration.hostile.corpus import (
    Hostile,
    Markers,
    Route,
    Sent,
    Target,
    good,
    patient,
    study,
    update,
)
from tests.integration.hostile.hostile_documents import document_bodies

OTHER_DATASTORE_ID = "0" * 32  # well formed, but not one this stage may touch
MAX_BODY_BYTES = 256 * 1024
Body = Callable[[str], tuple[str, str]]


def _envelope_bodies(t: Target) -> dict[str, Body]:
    def valid(marker: str, **fields: Any) -> dict[str, Any]:
        return update(t, "hostile-ok-id", study(StudyDescription=marker), **fields)

    nested = "[" * 100 + "{}" + "]" * 100
    return {
        "truncated_json": lambda m: (
            '{"requestId": "' + m + '", "DICOMUpdates": {"Patient": "' + m,
            "INVALID_JSON",
        ),
        "trailing_text": lambda m: (json.dumps(valid(m)) + " " + m, "INVALID_JSON"),
        "nan": lambda m: (json.dumps(valid(m))[:-1] + ', "force": NaN}', "INVALID_JSON"),
        "infinity_in_document": lambda m: (
            json.dumps(
                update(t, "h-inf", {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": m}}})
            ).replace('"SchemaVersion": 1.1', '"SchemaVersion": Infinity'),
            "INVALID_JSON",
        ),
        "deep_brackets": lambda m: ("[" * 50_000 + json.dumps(m) + "]" * 50_000, "INVALID_JSON"),
        "array": lambda m: (json.dumps([m, {"requestId": m}]), "PAYLOAD_NOT_OBJECT"),
        "string": lambda m: (json.dumps(m), "PAYLOAD_NOT_OBJECT"),
        "duplicate_request_id": lambda m: (
            json.dumps(valid(m))[:-1] + f', "requestId": "{m} second"}}',
            "DUPLICATE_KEY",
        ),
        "duplicate_keyword": lambda m: (
            json.dumps(update(t, "h-dup", patient(PatientName="A"))).replace(
                '"PatientName": "A"', f'"PatientName": "{m}", "PatientName": "{m}B"'
            ),
            "DUPLICATE_KEY",
        ),
        "nesting": lambda m: (json.dumps(valid(m))[:-1] + f', "dryRun": {nested}}}', "NESTING_TOO_DEEP"),
        "over_256_kib": lambda m: (json.dumps(valid(m) | {"pad": "x" * MAX_BODY_BYTES}), "PAYLOAD_TOO_LARGE"),
        "document_over_quota": lambda m: (
            json.dumps(update(t, "h-big", patient(PatientComments=m + "x" * 11_000))),
            "PAYLOAD_TOO_LARGE",
        ),
        "unknown_field_named_by_marker": lambda m: (json.dumps(valid(m) | {m: 1}), "UNKNOWN_FIELD"),
        "unknown_field_holding_marker": lambda m: (json.dumps(valid(m) | {"dryrun": m}), "UNKNOWN_FIELD"),
        "keyword_as_field": lambda m: (json.dumps(valid(m) | {"PatientName": m}), "UNKNOWN_FIELD"),
        "datastore_as_list": lambda m: (json.dumps(valid(m) | {"datastoreId": [m]}), "SCHEMA_VIOLATION"),
        "image_set_as_object": lambda m: (
            json.dumps(valid(m) | {"imageSetId": {"mrn": m}}),
            "SCHEMA_VIOLATION",
        ),
        "force_as_text": lambda m: (json.dumps(valid(m) | {"force": m}), "SCHEMA_VIOLATION"),
        "dry_run_as_text": lambda m: (json.dumps(valid(m) | {"dryRun": m}), "SCHEMA_VIOLATION"),
        "request_id_as_list": lambda m: (json.dumps(valid(m) | {"requestId": [m]}), "SCHEMA_VIOLATION"),
        "updates_as_list": lambda m: (json.dumps(valid(m) | {"DICOMUpdates": [m]}), "SCHEMA_VIOLATION"),
        "image_set_missing_field": lambda m: (
            json.dumps({k: v for k, v in valid(m).items() if k != "imageSetId"}),
            "SCHEMA_VIOLATION",
        ),
    }


def _id_bodies(t: Target) -> dict[str, Body]:
    def with_ids(m: str, **ids: Any) -> str:
        return json.dumps(update(t, "hostile-id", study(StudyDescription=m)) | ids)

    near_limit = "x" * (MAX_BODY_BYTES - len(with_ids("", imageSetId="")) - 16)
    return {
        "datastore_by_marker": lambda m: (with_ids(m, datastoreId=(m * 8)[:32]), "INVALID_DATASTORE_ID"),
        "datastore_as_name": lambda m: (with_ids(m, datastoreId=f"Doe^Jane {m}"), "INVALID_DATASTORE_ID"),
        "image_set_as_mrn": lambda m: (with_ids(m, imageSetId=f"MRN {m}"), "INVALID_IMAGE_SET_ID"),
        "image_set_200_kb": lambda m: (with_ids(m, imageSetId=m + "9" * 200_000), "INVALID_IMAGE_SET_ID"),
        # A body at SQS's limit: its failure record cannot carry attributes as well unless it is cut.
        "image_set_at_the_size_limit": lambda m: (
            with_ids(m, imageSetId=m + near_limit[len(m) :]),
            "INVALID_IMAGE_SET_ID",
        ),
        "request_id_with_a_space": lambda m: (with_ids(m, requestId=f"Smith John {m}"), "INVALID_REQUEST_ID"),
        "request_id_with_a_control": lambda m: (with_ids(m, requestId=f"{m}\x01"), "INVALID_REQUEST_ID"),
        "request_id_with_a_newline": lambda m: (with_ids(m, requestId=f"{m}\n"), "INVALID_REQUEST_ID"),
        "request_id_non_ascii": lambda m: (with_ids(m, requestId=f"{m}\u00e9"), "INVALID_REQUEST_ID"),
        "request_id_over_2_kb": lambda m: (with_ids(m, requestId=m * 300), "INVALID_REQUEST_ID"),
        "request_id_reserved_invalid": lambda m: (
            with_ids(m, requestId=f"invalid:sha256:{m}:len4"),
            "INVALID_REQUEST_ID",
        ),
        "request_id_reserved_reused": lambda m: (with_ids(m, requestId=f"reused:{m}"), "INVALID_REQUEST_ID"),
        "expected_version_by_marker": lambda m: (with_ids(m, expectedVersionId=m), "INVALID_VERSION_ID"),
        "expected_version_arabic_digit": lambda m: (
            with_ids(m, expectedVersionId="\u0663"),
            "INVALID_VERSION_ID",
        ),
        "revert_version_by_marker": lambda m: (
            json.dumps({"datastoreId": t.datastore_id, "imageSetId": t.image_set_id, "revertToVersionId": m}),
            "INVALID_VERSION_ID",
        ),
        "cli_latest_version_fullwidth": lambda m: (
            json.dumps(
                {
                    "datastoreId": t.datastore_id,
                    "imageSetId": t.image_set_id,
                    "latestVersionId": "\uff11",
                    "updateImageSetMetadataUpdates": {
                        "DICOMUpdates": {"updatableAttributes": patient(PatientName=m)}
                    },
                }
            ),
            "INVALID_VERSION_ID",
        ),
        "kind_ambiguous": lambda m: (with_ids(m, revertToVersionId="1"), "UPDATE_KIND_AMBIGUOUS"),
        "datastore_out_of_scope": lambda m: (
            with_ids(m, datastoreId=OTHER_DATASTORE_ID),
            "DATASTORE_NOT_ALLOWED",
        ),
    }


def _numbered(builders: dict[str, Body], markers: Markers, route: Route = Route.SQS) -> list[Sent]:
    sent: list[Sent] = []
    for index, (name, build) in enumerate(builders.items()):
        marker = markers()
        body, code = build(marker)
        # Distinct requestIds per input: one body's claim must not make another a reuse.
        body = body.replace('"hostile-ok-id"', f'"hostile-ok-{index}-{marker.lower()}"')
        body = body.replace('"hostile-id"', f'"hostile-id-{index}"').replace(
            '"hostile-doc"', f'"hostile-doc-{index}"'
        )
        sent.append(Hostile(name, marker, code, route, body=body))
    return sent


def request_inputs(t: Target, markers: Markers) -> list[Sent]:
    sent: list[Sent] = [good(t, "good-reused-later", markers())]
    sent += _numbered(_envelope_bodies(t) | _id_bodies(t) | document_bodies(t), markers)
    # The SQS fields of a record are the sender's too: the updater reads none of its message
    # attributes (a renewals attribute that once fed a number parser among them).
    m = markers()
    sent.append(
        Hostile(
            "renewals_attribute_and_odd_sqs_fields",
            m,
            "INVALID_IMAGE_SET_ID",
            Route.SQS,
            body=json.dumps(update(t, "hostile-attributes", study(StudyDescription=m)) | {"imageSetId": m}),
            record={
                "messageAttributes": {
                    "renewals": {"dataType": "Number", "stringValue": "9" * 5000},
                    "patient": {"dataType": "String", "stringValue": m},
                },
                "attributes": {"ApproximateReceiveCount": "\u0663", "MessageGroupId": f"{m} group"},
            },
        )
    )
    return sent + reuse_inputs(t, markers)


def reuse_inputs(t: Target, markers: Markers) -> list[Sent]:
    """requestIds reused for other content, in every order: the newcomer ends REQUEST_ID_REUSED."""

    def newcomer(name: str, request_id: str, route: Route = Route.SQS) -> Hostile:
        m = markers()
        body = json.dumps(update(t, request_id, patient(PatientComments=m)))
        return Hostile(name, m, "REQUEST_ID_REUSED", route, body=body)

    junk = markers()
    return [
        # (good-reused-later is sent first of all, batches earlier)
        newcomer("reuse_of_a_request_in_flight", "good-reused-later"),
        good(t, "good-reused-at-once", markers()),
        newcomer("reuse_in_the_same_batch", "good-reused-at-once"),
        Hostile(
            "junk_that_claims_a_request_id_first",
            junk,
            "SCHEMA_VIOLATION",
            Route.SQS,
            body=json.dumps({"requestId": "hostile-junk-first", "datastoreId": t.datastore_id, "note": junk}),
        ),
        newcomer("real_request_after_junk_took_its_id", "hostile-junk-first"),
        newcomer("reuse_of_a_request_that_ended", "good-reused-later", Route.SQS_AFTER_LANE),
    ]
