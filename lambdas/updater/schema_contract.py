"""The rules of the request contract that pydantic's generated schema cannot say, added to it.

The models parse shape and JSON types; `updater.domain.validation` checks the rest. A JSON Schema can
carry the structural part of those checks, so producers find their mistakes before they send:

* exactly one update kind: `DICOMUpdates` with at least one document, or `revertToVersionId`, and
  `includeStudyImageSets` never with a revert;
* the attribute document's skeleton (`SchemaVersion` 1.1; `Patient` and `Study` levels; `Series`
  and `Instances` keyed by DICOM UIDs; `DICOM` maps keyed by keywords or private tags; `DICOMVRs`
  mapping private tags to value representations);
* the requestId, version id and the outcome's errorCode rules.

What needs the DICOM data dictionary (unknown keywords, level placement, VR formats, generated
attributes, the force tier) or the image set itself stays with validation and planning: a document
can be valid here and still be refused. These are additions to the models' schemas, not a second
model: a property the models do not have is never introduced.
"""

from __future__ import annotations

from typing import Any

from updater.domain.request import REQUEST_ID_PATTERN, VERSION_PATTERN
from updater.domain.validation.keywords import VALUE_REPRESENTATIONS

# The validator's rules as patterns: a keyword is letters and digits (the dictionary decides which);
# a private tag is 8 hex digits whose group is odd and not one the standard reserves (0001-0007, FFFF).
KEYWORD_PATTERN = r"^[A-Za-z][A-Za-z0-9]*$"
PRIVATE_TAG_PATTERN = r"^(?!000[1357])(?![Ff]{4})[0-9A-Fa-f]{3}[13579BbDdFf][0-9A-Fa-f]{4}$"
UID_PATTERN = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$"
UID_MAX_LENGTH = 64
DOCUMENT_FIELDS = ("updatableAttributes", "removableAttributes")
REQUEST_ID_DESCRIPTION = (
    "Idempotency key. Send one with every request: a new one for each change, the same one when "
    "sending that change again (a requestId that ended replays its stored outcome, it never applies "
    "twice). When absent it is the SHA-256 hex of the other fields, so identical content maps to one "
    "ledger entry."
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _level(description: str, **children: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "properties": {"DICOM": _ref("DicomAttributes"), "DICOMVRs": _ref("PrivateTagVRs"), **children},
    }


def _keyed_by_uid(level: str) -> dict[str, Any]:
    return {"type": "object", "propertyNames": _ref("DicomUid"), "additionalProperties": _ref(level)}


def document_definitions() -> dict[str, Any]:
    """`$defs` of the attribute document (updatableAttributes / removableAttributes as objects)."""
    return {
        "AttributeDocument": {
            "type": "object",
            "description": (
                "Shaped like the image set's metadata document. In removableAttributes each value is the "
                "current one (HealthImaging removes only what matches), and an empty Series or Instances "
                "entry removes that series or instance."
            ),
            "required": ["SchemaVersion"],
            "additionalProperties": False,
            "properties": {
                "SchemaVersion": {"enum": [1.1, "1.1"]},
                "Patient": _ref("PatientLevel"),
                "Study": _ref("StudyLevel"),
            },
        },
        "PatientLevel": _level("Patient-level attributes"),
        "StudyLevel": _level(
            "Study-level attributes and the image set's series", Series=_keyed_by_uid("SeriesLevel")
        ),
        "SeriesLevel": _level("One series, by SeriesInstanceUID", Instances=_keyed_by_uid("InstanceLevel")),
        "InstanceLevel": _level("One instance, by SOPInstanceUID"),
        "DicomAttributes": {
            "type": "object",
            "description": "DICOM keyword (PatientName) or private tag (00091001) -> value",
            "propertyNames": {"anyOf": [{"pattern": KEYWORD_PATTERN}, {"pattern": PRIVATE_TAG_PATTERN}]},
        },
        "PrivateTagVRs": {
            "type": "object",
            "description": "private tag -> its value representation (required when a private tag is added)",
            "propertyNames": {"pattern": PRIVATE_TAG_PATTERN},
            "additionalProperties": {"enum": sorted(VALUE_REPRESENTATIONS)},
        },
        "DicomUid": {"type": "string", "pattern": UID_PATTERN, "maxLength": UID_MAX_LENGTH},
    }


def _document_field(existing: dict[str, Any]) -> dict[str, Any]:
    text = {
        "type": "string",
        "minLength": 1,
        "description": "The same document as JSON text, or base64 of it",
    }
    field = {key: value for key, value in existing.items() if key not in ("anyOf", "type")}
    return field | {"anyOf": [_ref("AttributeDocument"), text, {"type": "null"}]}


def _given(name: str) -> dict[str, Any]:
    """`name` is present and not null."""
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def _one_update_kind(updates_key: str, *, with_include_study: bool) -> dict[str, Any]:
    """Exactly one of `updates_key` and revertToVersionId (a null one counts as absent)."""
    documents = _given(updates_key)
    documents["properties"]["revertToVersionId"] = {"type": "null"}
    revert = _given("revertToVersionId")
    revert["properties"][updates_key] = {"type": "null"}
    if with_include_study:
        revert["properties"]["includeStudyImageSets"] = {"const": False}
    return {"oneOf": [documents, revert]}


def add_request_rules(definitions: dict[str, Any]) -> dict[str, Any]:
    """The pydantic `$defs` of both request shapes with the contract's structural rules added."""
    defs = {**definitions, **document_definitions()}
    updates = defs["DicomUpdates"]
    for name in DOCUMENT_FIELDS:
        if name in updates["properties"]:
            updates["properties"][name] = _document_field(updates["properties"][name])
    # At least one document: an empty DICOMUpdates updates nothing.
    updates["anyOf"] = [_given(name) for name in DOCUMENT_FIELDS if name in updates["properties"]]
    native = defs["UpdateRequest"]
    native["properties"]["requestId"]["description"] = REQUEST_ID_DESCRIPTION
    native.update(_one_update_kind("DICOMUpdates", with_include_study=True))
    cli = defs["CliUpdateInput"]
    cli["properties"]["requestId"] |= {"pattern": REQUEST_ID_PATTERN, "description": REQUEST_ID_DESCRIPTION}
    cli_updates = defs["CliMetadataUpdates"]
    cli_updates["properties"]["revertToVersionId"]["pattern"] = VERSION_PATTERN
    cli_updates.update(_one_update_kind("DICOMUpdates", with_include_study=False))
    reverting = {"properties": {"revertToVersionId": {"type": "string"}}, "required": ["revertToVersionId"]}
    cli["if"] = {
        "required": ["updateImageSetMetadataUpdates"],
        "properties": {"updateImageSetMetadataUpdates": reverting},
    }
    cli["then"] = {"properties": {"includeStudyImageSets": {"const": False}}}
    return defs


def add_outcome_rules(schema: dict[str, Any]) -> dict[str, Any]:
    """A FAILED outcome names its errorCode; a SUCCEEDED one has none."""
    failed = {"properties": {"status": {"const": "FAILED"}}, "required": ["status"]}
    schema["if"] = failed
    schema["then"] = {"required": ["errorCode"], "properties": {"errorCode": {"type": "string"}}}
    schema["else"] = {"properties": {"errorCode": {"type": "null"}}}
    return schema
