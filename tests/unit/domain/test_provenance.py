"""Provenance through intake, on fakes: what a record may be believed to be, from how it arrived."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.domain.lane_world import LaneWorld, patient_update
from tests.unit.updater.factories import DATASTORE_ID, IMAGE_SET_ID
from updater.domain.callers import CallerDirectory, CallerPolicy, Right
from updater.domain.intake import Admission
from updater.domain.provenance import Origin, Provenance, RuleRole, StagePlace, trusted_rules

ACCOUNT, REGION = "111122223333", "us-west-2"
RIS = CallerPolicy(name="ris", sender_ids=("AROARIS",), datastores=(DATASTORE_ID,))
EMR = CallerPolicy(
    name="emr",
    principals=(f"arn:aws:iam::{ACCOUNT}:role/emr",),
    event_sources=("hospital.emr",),
    may=frozenset({Right.FORCE}),
)
PROVENANCE = Provenance(CallerDirectory([RIS, EMR]), StagePlace(ACCOUNT, REGION))


def _world() -> LaneWorld:
    return LaneWorld(settle_s=0.2, provenance=PROVENANCE)


def _envelope(source: str, detail_type: str, detail: dict[str, Any], account: str = ACCOUNT) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "e-1",
            "detail-type": detail_type,
            "source": source,
            "account": account,
            "time": "2026-12-01T00:00:00Z",
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
    )


def _import_completed(account: str = ACCOUNT) -> str:
    detail = {
        "imagingVersion": "1.0",
        "datastoreId": DATASTORE_ID,
        "jobId": "0123456789abcdef0123456789abcdef",
        "jobStatus": "COMPLETED",
        "inputS3Uri": "s3://other-bucket/in/",
        "outputS3Uri": "s3://other-bucket/out/",
    }
    return _envelope("aws.medical-imaging", "Import Job Completed", detail, account)


def _update(request_id: str, **fields: Any) -> str:
    return json.dumps(patient_update(request_id, PatientName="DOE^JANE").wire_dict() | fields)


def test_a_configured_caller_on_a_caller_queue_is_forwarded_with_its_name_for_the_audit() -> None:
    world = _world()
    admitted = world.intake.admit(_update("r1"), Origin.caller_queue("AROARIS:session-1"))
    assert admitted.admission is Admission.FORWARDED
    ((_, _, sent),) = world.lane.sent
    caller = json.loads(sent)["caller"]
    assert (caller["kind"], caller["name"], caller["identity"]) == ("iam", "ris", "AROARIS:session-1")


def test_an_unknown_sender_and_a_right_not_granted_end_with_their_codes_under_keys_of_their_own() -> None:
    world = _world()
    unknown = world.intake.admit(_update("r1"), Origin.caller_queue("AIDASTRANGER"))
    forced = world.intake.admit(_update("r2", force=True), Origin.caller_queue("AROARIS:s"))
    assert unknown.outcome is not None and unknown.outcome.error_code == "CALLER_NOT_ALLOWED"
    assert forced.outcome is not None and forced.outcome.error_code == "OPERATION_NOT_ALLOWED"
    assert unknown.outcome.request_id.startswith("refused:") and unknown.outcome.request_id.endswith(":r1")
    assert world.lane.sent == [] and "r1" not in world.ledger.entries and "r2" not in world.ledger.entries
    # ...and the request ids stay free for a caller who may.
    assert (
        world.intake.admit(_update("r1"), Origin.caller_queue("AROARIS:s")).admission is Admission.FORWARDED
    )
    audited = {r.caller.identity: r for r in world.audit.records}
    assert (
        audited["AIDASTRANGER"].error_code == "CALLER_NOT_ALLOWED"
        and audited["AIDASTRANGER"].kind == "refusal"
    )


def test_a_healthimaging_looking_event_on_a_caller_queue_is_untrusted_and_reacts_to_nothing() -> None:
    world = _world()
    admitted = world.intake.admit(_import_completed(), Origin.caller_queue("AROARIS:s"))
    assert admitted.outcome is not None and admitted.outcome.error_code == "UNTRUSTED_SERVICE_EVENT"
    assert admitted.admission is Admission.REJECTED
    assert world.lane.sent == []


def test_a_healthimaging_event_is_believed_only_from_its_rule_and_of_this_account() -> None:
    world = _world()
    other_account = world.intake.admit(
        _import_completed("999999999999"), Origin.rules_queue(RuleRole.IMPORTS)
    )
    unstamped = world.intake.admit(_import_completed(), Origin.rules_queue(None))
    wrong_rule = world.intake.admit(_import_completed(), Origin.rules_queue(RuleRole.SETTLES))
    for admitted in (other_account, unstamped, wrong_rule):
        assert admitted.outcome is not None and admitted.outcome.error_code == "UNTRUSTED_SERVICE_EVENT"
    # From its own rule it is HealthImaging's (the lane world has no import rules configured).
    trusted = world.intake.admit(_import_completed(), Origin.rules_queue(RuleRole.IMPORTS))
    assert trusted.admission is Admission.IGNORED and trusted.reason == "IMPORTS_NOT_CONFIGURED"


def test_requests_bus_callers_are_their_source_from_their_own_account() -> None:
    world = _world()
    detail = patient_update("r1", PatientName="DOE^JANE").wire_dict() | {"force": True}
    own = world.intake.admit(
        _envelope("hospital.emr", "ImageSetMetadataUpdate.Requested", detail),
        Origin.rules_queue(RuleRole.REQUESTS),
    )
    assert own.admission is Admission.FORWARDED
    elsewhere = world.intake.admit(
        _envelope(
            "hospital.emr", "ImageSetMetadataUpdate.Requested", detail | {"requestId": "r2"}, "999999999999"
        ),
        Origin.rules_queue(RuleRole.REQUESTS),
    )
    assert elsewhere.outcome is not None and elsewhere.outcome.error_code == "CALLER_NOT_ALLOWED"


def test_the_trusted_rules_setting_keeps_only_known_roles() -> None:
    setting = json.dumps({"arn:rule/a": "imports", "arn:rule/b": "settles", "arn:rule/c": "other"})
    assert trusted_rules(setting) == {"arn:rule/a": RuleRole.IMPORTS, "arn:rule/b": RuleRole.SETTLES}
    assert trusted_rules("") == {} and trusted_rules("[1]") == {} and trusted_rules("{") == {}


def test_nothing_a_refused_sender_wrote_reaches_the_outcome() -> None:
    world = _world()
    sneaky = "AIDA" + "X" * 20
    admitted = world.intake.admit(_update("patient-DOE-JANE"), Origin.caller_queue(sneaky))
    assert admitted.outcome is not None
    shown = admitted.outcome.model_dump_json()
    assert sneaky not in shown and IMAGE_SET_ID in shown
