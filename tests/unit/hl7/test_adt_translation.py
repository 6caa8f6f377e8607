"""HL7 v2 ADT messages become the updater's parent requests; malformed ones end with their own code
and never echo a field value; other events are acknowledged as ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from updater.domain.content_types import NotForUpdater
from updater.domain.errors import FailureCode
from updater.domain.inbound import RejectedMessage
from updater.domain.selectors import ParentMessage
from updater.hl7 import Hl7Translation

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "hl7"
DATASTORE = "12345678901234567890123456789012"


def translate(text: str) -> ParentMessage | RejectedMessage | NotForUpdater:
    return Hl7Translation(DATASTORE).translate(text)


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def test_an_a08_is_a_patient_update_everywhere_the_patient_appears() -> None:
    message = translate(sample("adt-a08-update-patient.hl7"))
    assert isinstance(message, ParentMessage) and message.trigger == "hl7"
    parent = message.request
    assert parent.request_id == "hl7-ADT-A08-0001"
    assert parent.selector.patient is not None
    assert (parent.selector.patient.patient_id, parent.selector.patient.issuer_of_patient_id) == (
        "2178309",
        "GOODHEALTH",
    )
    assert parent.dicom_updates.updatable_attributes == {
        "SchemaVersion": 1.1,
        "Patient": {
            "DICOM": {"PatientName": "DOE^JANE^Q^DR", "PatientBirthDate": "19610615", "PatientSex": "F"}
        },
    }


def test_an_a31_is_the_same_update() -> None:
    message = translate(sample("adt-a31-update-person.hl7"))
    assert isinstance(message, ParentMessage)
    assert message.request.operation == "update"


def test_an_a40_merges_the_prior_patient_into_the_surviving_one() -> None:
    message = translate(sample("adt-a40-merge-patients.hl7"))
    assert isinstance(message, ParentMessage)
    parent = message.request
    assert parent.operation == "merge"
    assert parent.selector.patient is not None and parent.selector.patient.patient_id == "2178309"
    new = parent.dicom_updates.updatable_attributes
    assert new is not None
    assert new["Patient"]["DICOM"]["PatientID"] == "4455667"
    assert new["Patient"]["DICOM"]["IssuerOfPatientID"] == "GOODHEALTH"
    assert parent.child("a" * 32).matched_by == {
        "Patient": {"PatientID": "2178309", "IssuerOfPatientID": "GOODHEALTH"}
    }


def test_other_events_are_acknowledged_as_ignored() -> None:
    assert translate(sample("adt-a01-admit-ignored.hl7")) == NotForUpdater("HL7_A01")
    orm = "MSH|^~\\&|A|B|C|D|20260101||ORM^O01|X1|P|2.5\rPID|1||1^^^H^MR\r"
    assert translate(orm) == NotForUpdater("HL7_NOT_ADT")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not hl7 at all SECRET", FailureCode.HL7_MALFORMED),
        ("PID|1||SECRET^^^H^MR\r", FailureCode.HL7_MALFORMED),
        (
            "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|M1|P|2.5\rPID|1||||SECRET^NAME\r",
            FailureCode.HL7_FIELD_INVALID,
        ),
        (
            "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|M2|P|2.5\rPID|1||SECRET^^^H^MR||N^A||NOTADATE\r",
            FailureCode.HL7_FIELD_INVALID,
        ),
        (
            "MSH|^~\\&|A|B|C|D|20260101||ADT^A40|M3|P|2.5\rPID|1||SECRET^^^H^MR||N^A\r",
            FailureCode.HL7_FIELD_INVALID,
        ),
        (
            "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|M4|P|2.5\rPID|1||SECRET^^^H^MR\r",
            FailureCode.HL7_FIELD_INVALID,
        ),
    ],
)
def test_malformed_messages_end_with_their_code_and_echo_no_value(text: str, code: FailureCode) -> None:
    message = translate(text)
    assert isinstance(message, RejectedMessage)
    assert message.failure.code is code
    assert "SECRET" not in repr(message) and "NOTADATE" not in repr(message)
    assert message.request_id is not None and "SECRET" not in message.request_id


def test_line_endings_a_transport_changed_are_accepted() -> None:
    assert isinstance(translate(sample("adt-a08-update-patient.hl7").replace("\r", "\r\n")), ParentMessage)
    assert isinstance(translate(sample("adt-a08-update-patient.hl7").replace("\r", "\n")), ParentMessage)


@pytest.mark.parametrize(
    ("pid", "expected"),
    [
        (
            "1^^^H^MR||SMITH^JOHN^^JR^MR||1970|U",
            {"PatientName": "SMITH^JOHN^^MR^JR"},
        ),  # partial date, U left out
        ('1^^^H^MR||SMITH||""|A', {"PatientName": "SMITH", "PatientSex": "O"}),  # HL7 null never blanks
        (
            "1^^^H^MR||O\\T\\BRIEN^ANN||19800229120000|M",
            {"PatientName": "O&BRIEN^ANN", "PatientBirthDate": "19800229", "PatientSex": "M"},
        ),
    ],
)
def test_pid_fields_map_to_dicom(pid: str, expected: dict[str, str]) -> None:
    message = translate(f"MSH|^~\\&|A|B|C|D|20260101||ADT^A08|M9|P|2.5\rPID|1||{pid}\r")
    assert isinstance(message, ParentMessage)
    document = message.request.dicom_updates.updatable_attributes
    assert document is not None and document["Patient"]["DICOM"] == expected


def test_the_mr_identifier_wins_over_other_repetitions() -> None:
    text = "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|M5|P|2.5\rPID|1||999^^^SSA^SS~42^^^HOSP^MR||N^A\r"
    message = translate(text)
    assert isinstance(message, ParentMessage) and message.request.selector.patient is not None
    assert message.request.selector.patient.attributes() == {"PatientID": "42", "IssuerOfPatientID": "HOSP"}


def test_without_a_configured_data_store_every_message_is_refused() -> None:
    message = Hl7Translation("").translate(sample("adt-a08-update-patient.hl7"))
    assert isinstance(message, RejectedMessage) and message.failure.code is FailureCode.DATASTORE_NOT_ALLOWED
