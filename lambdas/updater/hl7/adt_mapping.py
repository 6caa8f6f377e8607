"""ADT events as the updater's requests: A08/A31 update a patient everywhere, A40 merges two.

    A08, A31  update patient information  -> patient selector on PID-3, set PID-5/7/8
    A40       merge patient identifier     -> merge: from MRG-1 into PID-3 (+ PID-5/7/8)
    other     (A01, A03, A04, ...)         -> acknowledged as ignored, counted by event code

Field mapping (docs/corrections.md and the README have the table):

    PID-3 (CX, repeating)  PatientID = CX.1 of the MR repetition (the first one otherwise),
                           IssuerOfPatientID = CX.4.1 (assigning authority's namespace id)
    PID-5 (XPN)            PatientName = family^given^middle^prefix^suffix (XPN 1, 2, 3, 5, 4)
    PID-7 (DTM)            PatientBirthDate = its first 8 digits (YYYYMMDD); a partial date is left out
    PID-8 (IS)             PatientSex: M, F, O as sent; A, N, X as O; U or empty left out
    MRG-1 (CX, repeating)  the old identity, chosen like PID-3
    MSH-10                 requestId "hl7-<MSH-10>" (digest form when MSH-10 is not a plain token)

Values HL7 sends as the explicit null `""` are left out: a correction never blanks an attribute.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from updater.hl7.er7 import AdtMessage, Hl7FieldInvalid, Identifier, PersonName

UPDATE_EVENTS = frozenset({"A08", "A31"})
MERGE_EVENTS = frozenset({"A40"})
REQUEST_ID_PREFIX = "hl7-"
_PLAIN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_EVENT_CODE = re.compile(r"^[A-Z][0-9A-Z]{2}$")
_SEX = {"M": "M", "F": "F", "O": "O", "A": "O", "N": "O", "X": "O"}
_NULL = '""'


def event_code(message: AdtMessage) -> str:
    """The trigger event when it looks like one (A08), for counting; never the sender's free text."""
    event = message.trigger_event.upper()
    return event if _EVENT_CODE.fullmatch(event) else "UNKNOWN"


def request_id(message: AdtMessage) -> str:
    control = message.control_id
    if _PLAIN_ID.fullmatch(control):
        return REQUEST_ID_PREFIX + control
    return REQUEST_ID_PREFIX + hashlib.sha256(control.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def parent_request(message: AdtMessage, datastore_id: str) -> dict[str, Any]:
    """The selector or merge request of an A08/A31/A40 (domain.selectors parses it)."""
    if not message.control_id:
        raise Hl7FieldInvalid("MSH-10", "is required (the message control id is the requestId)")
    patient = _identity(message.identifiers, "PID-3")
    demographics = _demographics(message)
    base = {"datastoreId": datastore_id, "requestId": request_id(message)}
    if event_code(message) in MERGE_EVENTS:
        prior = _identity(message.prior_identifiers, "MRG-1")
        return {**base, "merge": {"from": prior, "into": {**patient, **demographics}}}
    if not demographics:
        raise Hl7FieldInvalid("PID-5", "PID-7 or PID-8 must carry a value to update")
    document = {"SchemaVersion": 1.1, "Patient": {"DICOM": demographics}}
    return {**base, "selector": {"patient": patient}, "DICOMUpdates": {"updatableAttributes": document}}


def _identity(identifiers: tuple[Identifier, ...], field: str) -> dict[str, str]:
    usable = [i for i in identifiers if i.value and i.value != _NULL]
    if not usable:
        raise Hl7FieldInvalid(field, "has no patient identifier")
    chosen = next((i for i in usable if i.type_code.upper() == "MR"), usable[0])
    identity = {"PatientID": chosen.value}
    if chosen.authority and chosen.authority != _NULL:
        identity["IssuerOfPatientID"] = chosen.authority
    return identity


def _demographics(message: AdtMessage) -> dict[str, str]:
    found: dict[str, str] = {}
    if message.name is not None:
        name = person_name(message.name)
        if name:
            found["PatientName"] = name
    birth_date = dicom_date(message.birth_date)
    if birth_date:
        found["PatientBirthDate"] = birth_date
    sex = _SEX.get(message.sex.upper())
    if sex:
        found["PatientSex"] = sex
    return found


def person_name(name: PersonName) -> str:
    """DICOM PN from XPN: components reordered (HL7 puts the suffix before the prefix) and trailing
    empty ones dropped, as PN encodes them."""
    parts = [name.family, name.given, name.middle, name.prefix, name.suffix]
    cleaned = ["" if part == _NULL else part for part in parts]
    return "^".join(cleaned).rstrip("^")


def dicom_date(value: str) -> str:
    """DA (YYYYMMDD) from an HL7 date/time; "" for none, a null or a partial date; a value that is
    no date at all is refused."""
    if not value or value == _NULL:
        return ""
    digits = value[:8]
    if len(value) < 8 and value.isdigit():
        return ""  # YYYY or YYYYMM: DICOM DA has no partial dates
    try:
        dt.datetime.strptime(digits, "%Y%m%d")  # a calendar date, no time zone
    except ValueError:
        raise Hl7FieldInvalid("PID-7", "is not a date") from None
    return digits
