"""No failure message, summary or location ever carries an attribute value (PHI)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.updater.factories import (
    instance_doc,
    metadata_document,
    patient_doc,
    series_doc,
    study_doc,
    update_request,
)
from updater.domain.errors import RequestRejected, ValidationFailure
from updater.domain.outcome import scrub_message
from updater.domain.planning import plan_update
from updater.domain.request import parse_update_request
from updater.domain.validation import validate_request

SECRET = "ZZSECRETZZ"


def documents_with_secret(secret: str) -> list[dict[str, Any]]:
    return [
        patient_doc(PatientBirthDate=secret),  # invalid DA
        patient_doc(PatientName=secret * 20),  # PN too long
        patient_doc(PatientSex=[secret, secret]),  # multi-valued
        study_doc(PatientName=secret),  # wrong level
        study_doc(StudyInstanceUID=secret),  # needs force
        study_doc(StudyDescription=secret + "\\" + secret),  # backslash
        series_doc({"DICOM": {"00091001": secret}, "DICOMVRs": {"00091001": "DA"}}),  # private VR mismatch
        instance_doc({"DICOM": {"FrameSizeInBytes": secret}}),  # generated
        instance_doc({"DICOM": {"00091001": secret}}),  # instance private without force
        {"SchemaVersion": secret},
    ]


def all_text(failures: tuple[ValidationFailure, ...]) -> str:
    return (
        " ".join(f"{f.code} {f.field} {f.message}" for f in failures) + " " + str(RequestRejected(failures))
    )


def test_validation_failures_never_contain_the_value() -> None:
    for document in documents_with_secret(SECRET):
        failures = validate_request(update_request(document))
        assert failures, document
        assert SECRET not in all_text(failures)


def test_planning_failures_never_contain_the_value() -> None:
    removable = study_doc(StudyDescription=SECRET)
    failures = plan_update(update_request(removable=removable), metadata_document()).failures
    assert failures
    assert SECRET not in all_text(failures)


def test_parse_failures_never_contain_the_value() -> None:
    bodies: list[Any] = [
        {"datastoreId": SECRET * 3, "imageSetId": 5, "DICOMUpdates": {"updatableAttributes": SECRET}},
        {"datastoreId": "d", "imageSetId": "e", "force": SECRET},
        {"datastoreId": "d", "imageSetId": "e", f"{SECRET} with spaces": 1},
        f'{{"datastoreId": "{SECRET}"',
    ]
    for body in bodies:
        try:
            parse_update_request(body)
        except RequestRejected as rejected:
            assert SECRET not in all_text(rejected.failures)
        else:
            raise AssertionError("expected a rejection")


def test_key_that_looks_like_a_value_is_not_shown_in_locations() -> None:
    document = {"SchemaVersion": 1.1, "Patient": {"DICOM": {"Smith, John 1970-01-01": "x"}}}
    failures = validate_request(update_request(document))
    assert "Smith" not in all_text(failures)


MARKER = "\u2603"  # never part of a message, so any occurrence is a leak


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40).map(lambda text: MARKER + text))
def test_arbitrary_values_never_leak_into_failures(value: str) -> None:
    keywords = ["PatientBirthDate", "PatientSex", "PatientID", "PatientName"]
    failures = validate_request(update_request(patient_doc(**{keyword: value for keyword in keywords})))
    removal = plan_update(update_request(removable=study_doc(StudyDescription=value)), metadata_document())
    assert failures and removal.failures
    assert MARKER not in all_text(failures) + all_text(removal.failures)


def test_messages_contain_no_quote_or_colon_so_scrubbing_keeps_them() -> None:
    requests = [update_request(document) for document in documents_with_secret("bad")]
    requests += [
        update_request(datastoreId="x", imageSetId="y", requestId="a b", expectedVersionId="v"),
        update_request(patient_doc(PatientName="A"), revertToVersionId="1"),
        update_request(revertToVersionId="v", includeStudyImageSets=True),
    ]
    for request in requests:
        for failure in validate_request(request, allowed_datastores=frozenset({"z" * 32})):
            assert scrub_message(failure.message) == failure.message, failure.message
