"""Audit records as FHIR R4 `AuditEvent` resources, built with fhir.resources' R4B models.

R4B (4.3) changed nothing in AuditEvent from R4 (4.0.1), so the JSON is a valid R4 AuditEvent;
fhir.resources validates every resource as it is built. The mapping follows DICOM's audit
vocabulary, which FHIR's AuditEvent was designed to carry (PS3.15 A.5, and the FHIR
AuditEvent "DICOM" mapping):

    type          DCM 110103 "DICOM Instances Accessed" (a change, no-op or dry run), or
                  DCM 110113 "Security Alert" when the caller or its transport was refused
    action        U (update) for a change, R (read) for a no-op, E (execute) for a dry run
    outcome       0 success, 4 minor failure (the request was refused), 8 serious (security)
    period        received .. settled (or recorded), recorded: when the record was written
    agent         the caller as the transport identified it (requestor), the requester's own
                  `requestedBy` when given, and the updater itself
    entity        the image set (its versions, forced, revert target, each changed attribute's
                  value before and after as detail) and the request (id, reason, ticket)
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent

DCM = "http://dicom.nema.org/resources/ontology/DCM"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
# DICOM's Reason for the Attribute Modification (0400,0562): CORRECT or COERCE.
MODIFICATION_REASON = "urn:dicom:tag:04000562"
UPDATER = "urn:healthimaging-metadata-updater"
SECURITY_CODES = frozenset({"CALLER_NOT_ALLOWED", "OPERATION_NOT_ALLOWED", "UNTRUSTED_SERVICE_EVENT"})
ACTIONS = {"change": "U", "no-op": "R", "dry-run": "E", "refusal": "U"}


def _instant(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _outcome(record: dict[str, Any]) -> tuple[str, str | None]:
    if record.get("status") == "SUCCEEDED":
        return "0", None
    code = str(record.get("errorCode") or "FAILED")
    return ("8" if code in SECURITY_CODES else "4"), code


def _agents(record: dict[str, Any], service: str) -> list[dict[str, Any]]:
    caller = record.get("caller") or {}
    agents: list[dict[str, Any]] = [
        {
            "type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
            "who": {
                "identifier": {
                    "system": f"{UPDATER}:caller:{caller.get('kind', 'unknown')}",
                    "value": caller.get("identity") or "unknown",
                },
                "display": caller.get("name") or "unrecognised sender",
            },
            "requestor": True,
        }
    ]
    if caller.get("requestedBy"):
        agents.append(
            {
                "who": {"identifier": {"system": f"{UPDATER}:requested-by", "value": caller["requestedBy"]}},
                "name": caller["requestedBy"],
                "requestor": True,
            }
        )
    agents.append(
        {
            "type": {"coding": [{"system": DCM, "code": "110150", "display": "Application"}]},
            "who": {"display": service},
            "requestor": False,
        }
    )
    return agents


def _image_set_details(record: dict[str, Any]) -> list[dict[str, Any]]:
    details = [
        {"type": name, "valueString": str(record[key])}
        for name, key in (
            ("fromVersionId", "fromVersionId"),
            ("toVersionId", "toVersionId"),
            ("revertToVersionId", "revertToVersionId"),
        )
        if record.get(key)
    ]
    details.append({"type": "forced", "valueString": "true" if record.get("forced") else "false"})
    for change in record.get("changes") or []:
        value = {
            "before": change.get("before"),
            "after": change.get("after"),
            "removed": change.get("removed", False),
        }
        details.append(
            {"type": str(change.get("path")), "valueString": json.dumps(value, ensure_ascii=False)}
        )
    return details


def audit_event(record: dict[str, Any], *, service: str = "healthimaging-metadata-updater") -> AuditEvent:
    outcome, code = _outcome(record)
    security = code in SECURITY_CODES
    event_type = ("110113", "Security Alert") if security else ("110103", "DICOM Instances Accessed")
    reason = record.get("reasonCode")
    request_details = (
        [{"type": "ticket", "valueString": record["reasonTicket"]}] if record.get("reasonTicket") else []
    )
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": _resource_id(str(record.get("recordId", ""))),
        "type": {"system": DCM, "code": event_type[0], "display": event_type[1]},
        "subtype": [{"system": UPDATER, "code": str(record.get("kind", "change"))}],
        "action": ACTIONS.get(str(record.get("kind")), "U"),
        "period": {
            "start": _instant(record.get("receivedAtMs")),
            "end": _instant(record.get("settledAtMs") or record.get("recordedAtMs")),
        },
        "recorded": _instant(int(record.get("recordedAtMs", 0))),
        "outcome": outcome,
        "agent": _agents(record, service),
        "source": {
            "site": service,
            "observer": {"display": service},
            "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}],
        },
        "entity": [
            {
                "what": {
                    "identifier": {
                        "system": f"urn:aws:medical-imaging:datastore:{record.get('datastoreId', '')}",
                        "value": record.get("imageSetId") or "unknown",
                    }
                },
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
                "name": "image set",
                "detail": _image_set_details(record),
            },
            {
                "what": {
                    "identifier": {
                        "system": f"{UPDATER}:request",
                        "value": record.get("requestId") or "unknown",
                    }
                },
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "3", "display": "Report"},
                "name": "update request",
                **({"detail": request_details} if request_details else {}),
            },
        ],
    }
    if code:
        resource["outcomeDesc"] = code
    if reason:
        resource["purposeOfEvent"] = [
            {"coding": [{"system": MODIFICATION_REASON, "code": reason}], "text": reason}
        ]
    if resource["period"]["start"] is None:
        del resource["period"]["start"]
    return AuditEvent.model_validate(resource)


def _resource_id(record_id: str) -> str:
    """FHIR ids allow [A-Za-z0-9.-]{1,64}: the record id's hash keeps them unique and short."""
    return hashlib.sha256(record_id.encode("utf-8")).hexdigest()[:64]


def bundle(
    records: list[dict[str, Any]], *, service: str = "healthimaging-metadata-updater"
) -> dict[str, Any]:
    """A FHIR `collection` Bundle of the records' AuditEvents (JSON-ready)."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": json.loads(audit_event(r, service=service).model_dump_json())} for r in records
        ],
    }
