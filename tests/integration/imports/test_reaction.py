"""The import reaction end to end on moto's S3; metadata documents stand in for the gateway, and the
planned requests are collected where intake would forward them to their lanes."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.integration.imports.conftest import failure, put_ndjson, success
from tests.unit.imports.documents import DATASTORE_ID, JOB_ID, STUDY_UID, applied, metadata_document
from updater.domain.redaction import shown_file_name
from updater.domain.request import parse_update_request
from updater.imports.corrections import CorrectionsReader
from updater.imports.events import IgnoredReason
from updater.imports.manifests import ImportManifestReader
from updater.imports.reaction import react_to_import_completed
from updater.imports.rules import load_rules

ROOT = Path(__file__).resolve().parents[3]
CT_SET = "c7" * 16
MR_SET = "e1" * 16
PHI_VALUES = ("doe^ jane", "DOE^JANE", "CHEST CT FOLLOW-UP", "1970-05-01", "19700501")


@pytest.fixture
def documents() -> dict[str, dict[str, Any]]:
    return {
        CT_SET: metadata_document(image_set_id=CT_SET, series={"StationName": "CTAWP00001"}),
        MR_SET: metadata_document(
            image_set_id=MR_SET,
            patient={"PatientName": "doe^ jane", "PatientBirthDate": "1970-05-01"},
            series={
                "Modality": "MR",
                "StationName": "CTAWP00001",
                "InstitutionName": "EXAMPLE GENERAL HOSPITAL",
            },
            series_uid="1.2.826.0.1.3680043.8.498.1",
            sop_uid="1.2.826.0.1.3680043.8.498.2",
        ),
    }


@pytest.fixture
def event(s3: Any, bucket: str) -> dict[str, Any]:
    envelope = json.loads((ROOT / "events" / "eventbridge" / "import-job-completed.json").read_text())
    envelope["detail"].update(inputS3Uri=f"s3://{bucket}/input/", outputS3Uri=f"s3://{bucket}/output/")
    job_folder = f"output/{DATASTORE_ID}-DicomImport-{JOB_ID}/"
    put_ndjson(
        s3,
        bucket,
        job_folder + "SUCCESS/success.ndjson",
        [
            success("input/ct/1.dcm", CT_SET),
            success("input/ct/2.dcm", CT_SET),
            success("input/mr/1.dcm", MR_SET),
        ],
    )
    put_ndjson(
        s3,
        bucket,
        job_folder + "FAILURE/failure.ndjson",
        [failure("input/ct/truncated.dcm"), failure("input/corrections.json")],
    )
    corrections = {"version": 1, "studies": {STUDY_UID: {"set": {"StudyDescription": "CHEST CT FOLLOW-UP"}}}}
    s3.put_object(Bucket=bucket, Key="input/corrections.json", Body=json.dumps(corrections).encode())
    return envelope  # fmt: skip


class Forwarded:
    """What intake receives from the reaction (`RequestForwarder`): the planned requests, in order."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def send(self, requests: Any) -> int:
        self.requests.extend(json.loads(json.dumps(list(requests))))
        return len(requests)

    def take(self) -> list[dict[str, Any]]:
        taken, self.requests = self.requests, []
        return taken


@pytest.fixture
def forwarded() -> Forwarded:
    return Forwarded()


def react(
    event: dict[str, Any], s3: Any, forwarded: Forwarded, documents: dict[str, Any], **overrides: Any
) -> Any:
    arguments: dict[str, Any] = {
        "allowed_datastores": {DATASTORE_ID},
        "manifest_reader": ImportManifestReader(s3),
        "fetch_metadata": lambda datastore_id, image_set_id: documents[image_set_id],
        "rules": load_rules(ROOT / "config" / "import-rules" / "dev.json"),
        "corrections_reader": CorrectionsReader(s3),
        "fanout": forwarded,
    }
    return react_to_import_completed(event, **{**arguments, **overrides})


def test_an_import_turns_into_update_requests_for_intake(
    event: dict[str, Any], s3: Any, forwarded: Forwarded, documents: dict[str, Any]
) -> None:
    summary = react(event, s3, forwarded, documents)
    queued = forwarded.take()

    assert summary.job_id == JOB_ID and summary.datastore_id == DATASTORE_ID
    assert summary.image_sets_seen == 2
    assert summary.failed_files == 1
    # The sidecar is not DICOM, so not a failure; a name with words in it is listed by fingerprint.
    assert summary.failed_file_names == [shown_file_name("input/ct/truncated.dcm")]
    assert summary.updates_requested == len(queued) == 7
    by_source = {(body["imageSetId"], _source_keywords(body)) for body in queued}
    assert by_source == {
        (CT_SET, ("InstitutionName",)),  # institution-name
        (CT_SET, ("PatientName",)),  # patient-name-format: CompressedSamples^CT1 upper-cased
        (CT_SET, ("StationName",)),  # ct-station-names (CT only)
        (CT_SET, ("StudyDescription",)),  # corrections.json
        (MR_SET, ("PatientName",)),  # patient-name-format
        (MR_SET, ("PatientBirthDate",)),  # iso-dates
        (MR_SET, ("StudyDescription",)),  # corrections.json
    }
    assert (
        summary.skipped == 2
    )  # CT names and dates already normal (institution already set on MR: skipped too?)
    for body in queued:
        assert parse_update_request(body).request_id == body["requestId"]


def test_replaying_the_event_after_the_updates_landed_requests_nothing(
    event: dict[str, Any], s3: Any, forwarded: Forwarded, documents: dict[str, Any]
) -> None:
    first = react(event, s3, forwarded, documents)
    updated = copy.deepcopy(documents)
    for body in forwarded.take():
        updated[body["imageSetId"]] = applied(updated[body["imageSetId"]], body["DICOMUpdates"])

    replay = react(event, s3, forwarded, updated)

    assert replay.updates_requested == 0
    assert forwarded.take() == []
    assert replay.skipped == first.skipped + first.updates_requested
    assert replay.image_sets_seen == first.image_sets_seen


def test_a_replay_before_the_updates_landed_repeats_the_same_request_ids(
    event: dict[str, Any], s3: Any, forwarded: Forwarded, documents: dict[str, Any]
) -> None:
    react(event, s3, forwarded, documents)
    first_ids = sorted(body["requestId"] for body in forwarded.take())

    react(event, s3, forwarded, documents)

    assert sorted(body["requestId"] for body in forwarded.take()) == first_ids


def test_an_event_for_another_datastore_is_ignored_without_side_effects(
    event: dict[str, Any], s3: Any, forwarded: Forwarded, documents: dict[str, Any]
) -> None:
    summary = react(event, s3, forwarded, documents, allowed_datastores={"0" * 32})

    assert summary.ignored_reason is IgnoredReason.DATASTORE_NOT_ALLOWED
    assert summary.wire_dict()["ignoredReason"] == "datastore-not-allowed"
    assert (summary.image_sets_seen, summary.updates_requested) == (0, 0)
    assert forwarded.take() == []


def test_no_attribute_value_reaches_the_summary_or_the_logs(
    event: dict[str, Any],
    s3: Any,
    forwarded: Forwarded,
    documents: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="updater.imports"):
        summary = react(event, s3, forwarded, documents)

    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    published = json.dumps(summary.wire_dict())
    assert "PatientName" in logged  # attribute names are fine
    for value in PHI_VALUES:
        assert value not in logged
        assert value not in published


def _source_keywords(body: dict[str, Any]) -> tuple[str, ...]:
    keywords: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            keywords.update(node.get("DICOM", {}))
            for key, value in node.items():
                if key != "DICOM":
                    collect(value)

    for document in body["DICOMUpdates"].values():
        collect(document)
    return tuple(sorted(keywords))
