"""Whatever arrives on the queue, parsing ends in an UpdateRequest or a RequestRejected, and a parsed
request can always be validated and planned without another exception."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.updater.factories import DATASTORE_ID, IMAGE_SET_ID, metadata_document
from updater.domain.errors import RequestRejected
from updater.domain.planning import plan_update
from updater.domain.request import UpdateRequest, parse_update_request
from updater.domain.validation import validate_request

CONTRACT_KEYS = [
    "datastoreId", "imageSetId", "requestId", "expectedVersionId", "force", "includeStudyImageSets", "dryRun",
    "DICOMUpdates", "updatableAttributes", "removableAttributes", "revertToVersionId", "latestVersionId",
    "updateImageSetMetadataUpdates", "SchemaVersion", "Patient", "Study", "Series", "Instances", "DICOM",
    "DICOMVRs", "PatientName", "StudyDate", "00091001", "1.2.3", "SOPInstanceUID",
]  # fmt: skip
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
keys = st.sampled_from(CONTRACT_KEYS) | st.text(max_size=6)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)


def parse_or_reject(raw: Any) -> UpdateRequest | None:
    try:
        return parse_update_request(raw)
    except RequestRejected as rejected:
        assert rejected.failures
        return None


def exercise(request: UpdateRequest | None) -> None:
    if request is None:
        return
    validate_request(request)
    if request.dicom_updates is not None and not request.is_revert:
        plan_update(request, metadata_document())


@PROFILE
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_request_rejected(raw: bytes) -> None:
    exercise(parse_or_reject(raw))


@PROFILE
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_anything_but_request_rejected(raw: str) -> None:
    exercise(parse_or_reject(raw))


@PROFILE
@given(json_values)
def test_arbitrary_json_never_raises_anything_but_request_rejected(value: Any) -> None:
    exercise(parse_or_reject(json.dumps(value)))
    exercise(parse_or_reject(value))


@PROFILE
@given(json_values, json_values, st.booleans())
def test_request_shaped_json_with_arbitrary_documents_never_raises(
    updatable: Any, removable: Any, as_text: bool
) -> None:
    documents = {"updatableAttributes": updatable, "removableAttributes": removable}
    if as_text:
        documents = {name: json.dumps(doc) for name, doc in documents.items()}
    body = {"datastoreId": DATASTORE_ID, "imageSetId": IMAGE_SET_ID, "DICOMUpdates": documents}
    exercise(parse_or_reject(body))


@PROFILE
@given(st.dictionaries(st.sampled_from(["Patient", "Study", "SchemaVersion"]), json_values, min_size=1))
def test_document_shaped_input_never_raises_in_validation_or_planning(document: dict[str, Any]) -> None:
    document.setdefault("SchemaVersion", 1.1)
    body = {
        "datastoreId": DATASTORE_ID,
        "imageSetId": IMAGE_SET_ID,
        "DICOMUpdates": {"updatableAttributes": document},
    }
    exercise(parse_or_reject(body))
    body["DICOMUpdates"] = {"removableAttributes": document}
    exercise(parse_or_reject(body))
