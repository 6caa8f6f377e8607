"""The auditors' tools: records read from a copy of the trail, listed, and exported as FHIR."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from updater.domain.audit import AttributeChange, AuditContext, Caller, audit_record
from updater.domain.errors import FailureCode
from updater.domain.outcome import OutcomeStatus, UpdateOutcome
from updater_ops.audit import main
from updater_ops.audit_fhir import audit_event
from updater_ops.audit_records import DirectoryTrail, day_prefixes, record_path

DS, IMAGE_SET = "a" * 32, "b" * 32
RECEIVED_MS = 1_800_000_000_000  # 2027-01-15


def _record(kind: str = "change", **outcome: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "request_id": f"req-{kind}",
        "datastore_id": DS,
        "image_set_id": IMAGE_SET,
        "status": OutcomeStatus.SUCCEEDED,
        "trigger": "sqs",
        "from_version_id": "1",
        "to_version_id": "2",
        "changed": {"Patient": ["PatientName"]},
    } | outcome
    context = AuditContext(
        caller=Caller(kind="iam", identity="AROAEXAMPLE:ris-7", name="ris", requested_by="clerk-12"),
        received_at_ms=RECEIVED_MS,
        applied_at_ms=RECEIVED_MS + 500,
        changes=(AttributeChange(path="Patient.PatientName", before="DOE^JOHN", after="DOE^JANE"),),
        reason_code="CORRECT",
        reason_ticket="INC-42",
    )
    record = audit_record(UpdateOutcome(**fields), context, recorded_at_ms=RECEIVED_MS + 2_000)  # type: ignore[arg-type]
    return json.loads(record.model_dump_json(by_alias=True))  # type: ignore[no-any-return]


def test_a_change_is_a_dicom_instances_accessed_update_with_who_what_values_and_why() -> None:
    event = audit_event(_record())
    assert (event.type.code, event.action, event.outcome) == ("110103", "U", "0")
    requestors = [a for a in event.agent if a.requestor]
    assert [a.who.display for a in requestors if a.who.display] == ["ris"]
    assert any(a.name == "clerk-12" for a in requestors)
    image_set, request = event.entity
    assert image_set.what.identifier.value == IMAGE_SET
    details = {d.type: d.valueString for d in image_set.detail}
    assert (details["fromVersionId"], details["toVersionId"], details["forced"]) == ("1", "2", "false")
    assert json.loads(details["Patient.PatientName"]) == {
        "before": "DOE^JOHN",
        "after": "DOE^JANE",
        "removed": False,
    }
    assert event.purposeOfEvent[0].coding[0].code == "CORRECT"
    assert request.detail[0].valueString == "INC-42"


def test_a_refused_caller_is_a_security_alert_and_a_dry_run_an_execute() -> None:
    refused = _record(
        "refusal",
        status=OutcomeStatus.FAILED,
        error_code=FailureCode.CALLER_NOT_ALLOWED,
        to_version_id=None,
        changed={},
    )
    alert = audit_event(refused)
    assert (alert.type.code, alert.outcome, alert.outcomeDesc) == ("110113", "8", "CALLER_NOT_ALLOWED")
    dry_run = audit_event(_record("dry-run", dry_run=True, to_version_id=None))
    assert dry_run.action == "E"


def test_a_period_is_its_days_and_a_copy_is_read_back_by_period(tmp_path: Path) -> None:
    assert day_prefixes(date(2027, 1, 31), date(2027, 2, 1)) == ["records/2027/01/31/", "records/2027/02/01/"]
    record = _record()
    target = tmp_path / record_path(record)
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(record), encoding="utf-8")
    trail = DirectoryTrail(tmp_path)
    assert [r["requestId"] for r in trail.records(date(2027, 1, 15), date(2027, 1, 15))] == ["req-change"]
    assert list(trail.records(date(2027, 1, 16), date(2027, 1, 20))) == []


def test_the_command_exports_a_valid_fhir_bundle_and_lists_without_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind in ("change", "dry-run"):
        record = _record(kind, dry_run=kind == "dry-run")
        (tmp_path / f"{kind}.json").write_text(json.dumps(record), encoding="utf-8")
    period = ["--since", "2027-01-15", "--until", "2027-01-15"]
    out = tmp_path / "bundle.json"
    assert main(["export", "--from-dir", str(tmp_path), *period, "--out", str(out)]) == 0
    bundle = Bundle.model_validate_json(out.read_text(encoding="utf-8"))
    assert [e.resource.subtype[0].code for e in bundle.entry] == ["change", "dry-run"]
    capsys.readouterr()
    assert main(["list", "--from-dir", str(tmp_path), *period]) == 0
    listed = capsys.readouterr().out
    assert "ris" in listed and "2 records" in listed
    assert "DOE" not in listed and "INC-42" not in listed and "clerk-12" not in listed
    assert main(["list", "--from-dir", str(tmp_path), "--since", "2027-02-01", "--until", "2027-01-01"]) == 2
