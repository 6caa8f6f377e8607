"""`make demo`: the whole system on this machine, driven with real traffic, summarised as a table.

moto's server and the HealthImaging emulator start in-process; the stack's queues, buses, rules
and table are created from the synthesized CDK template; pydicom's sample studies are imported; the
real handler runs under local SQS event source mappings. Exit code 0 only if every outcome is the
expected one.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from pydicom.data import get_testdata_file

from local.healthimaging.profile import BehaviourProfile, SettleTime
from local.invoke import drain
from local.stack import LocalStack, LocalStackOptions

BAD_REQUESTS = Path(__file__).resolve().parent.parent / "events" / "requests" / "bad"


def _update(
    stack: LocalStack, image_set: str, request_id: str, level: str, attributes: dict[str, Any]
) -> dict[str, Any]:
    return {
        "datastoreId": stack.datastore_id,
        "imageSetId": image_set,
        "requestId": request_id,
        "DICOMUpdates": {"updatableAttributes": {"SchemaVersion": 1.1, level: {"DICOM": attributes}}},
    }


def _scenario(stack: LocalStack, ct: str, mr: str) -> list[tuple[dict[str, Any] | str, str, str]]:
    """(request, requestId, expected) in submission order; expected is SUCCEEDED, NOOP or a failure code."""
    expected = json.loads((BAD_REQUESTS / "expected.json").read_text())
    steps: list[tuple[dict[str, Any] | str, str, str]] = [
        (
            _update(stack, ct, "demo-patient-name", "Patient", {"PatientName": "DOE^JANE"}),
            "demo-patient-name",
            "SUCCEEDED",
        ),
        (
            _update(stack, mr, "demo-study-desc", "Study", {"StudyDescription": "CHEST"}),
            "demo-study-desc",
            "SUCCEEDED",
        ),
    ]
    for name in ("unknown-keyword.json", "invalid-birth-date.json", "sop-instance-uid-without-force.json"):
        document = json.loads((BAD_REQUESTS / name).read_text())
        document.update(
            {"datastoreId": stack.datastore_id, "imageSetId": ct, "requestId": f"demo-bad-{name[:-5]}"}
        )
        steps.append((document, document["requestId"], expected[name]))
    steps.append(("{not json", "", "INVALID_JSON"))
    return steps


def _run_phase(stack: LocalStack, steps: list[tuple[dict[str, Any] | str, str, str]]) -> list[dict[str, Any]]:
    assert stack.topology is not None
    for request, _, _ in steps:
        body = request if isinstance(request, str) else json.dumps(request)
        stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=body)
    stack.run_until_idle(120)
    return [event["detail"] for event in drain(stack.aws, stack.topology.queue("outcome_capture").url)]


def _dlq_reasons(stack: LocalStack, url: str) -> list[str]:
    """failureCode of each DLQ record (bodies may be anything, even broken JSON)."""
    reasons = []
    while messages := stack.aws.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in messages:
            reasons.append(
                message.get("MessageAttributes", {}).get("failureCode", {}).get("StringValue", "?")
            )
            stack.aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return reasons


def _matches(outcome: dict[str, Any], expected: str) -> bool:
    if expected == "NOOP":
        return outcome["status"] == "SUCCEEDED" and outcome["noop"]
    if expected == "SUCCEEDED":
        return outcome["status"] == "SUCCEEDED" and not outcome["noop"]
    return outcome["status"] == "FAILED" and outcome["errorCode"] == expected


def main() -> int:
    options = LocalStackOptions(
        name_prefix=f"demo{uuid.uuid4().hex[:6]}-",
        visibility_timeout_s=10,
        function_timeout_s=60,
        emulator_profile=BehaviourProfile(settle=SettleTime(median_seconds=0.3, p99_seconds=1.0)),
        extra_environment={"UPDATE_RATE_PER_SECOND": "2", "UPDATE_BURST": "2"},
    )
    print("starting moto, the HealthImaging emulator and the stack's topology ...", flush=True)
    with LocalStack(options) as stack:
        assert stack.topology is not None
        (ct,) = stack.emulator.service.import_dicom_files(
            stack.datastore_id, [str(get_testdata_file("CT_small.dcm"))]
        )
        (mr,) = stack.emulator.service.import_dicom_files(
            stack.datastore_id, [str(get_testdata_file("MR_small.dcm"))]
        )
        plan = _scenario(stack, ct, mr)
        outcomes = _run_phase(stack, plan)
        follow_up = [
            (
                _update(stack, ct, "demo-same-again", "Patient", {"PatientName": "DOE^JANE"}),
                "demo-same-again",
                "NOOP",
            ),
            (
                {
                    "datastoreId": stack.datastore_id,
                    "imageSetId": ct,
                    "requestId": "demo-revert",
                    "revertToVersionId": "1",
                },
                "demo-revert",
                "SUCCEEDED",
            ),
        ]
        outcomes += _run_phase(stack, follow_up)
        dlq = _dlq_reasons(stack, stack.topology.queue("ingest_dlq").url)
    by_id = {o["requestId"]: o for o in outcomes}
    ok = True
    print(
        f"\n{'request':34} {'expected':30} {'outcome':10} {'versions':9} {'polls':5} {'settle ms':9} reason"
    )
    for _, request_id, expected in plan + follow_up:
        outcome = (
            by_id.get(request_id)
            if request_id
            else next((o for o in outcomes if o["requestId"].startswith("body-")), None)
        )
        good = outcome is not None and _matches(outcome, expected)
        ok &= good
        if outcome is None:
            print(f"{request_id:34} {expected:30} MISSING")
            continue
        versions = f"{outcome.get('fromVersionId') or '-'}->{outcome.get('toVersionId') or '-'}"
        status = "NOOP" if outcome["noop"] else outcome["status"]
        print(
            f"{outcome['requestId'][:34]:34} {expected:30} {status:10} {versions:9} {outcome['polls']:5} "
            f"{outcome.get('settleMs') or '-'!s:9} {outcome.get('errorCode') or ''} {'' if good else '<- UNEXPECTED'}"  # noqa: E501
        )
    print(f"\nDLQ holds {len(dlq)} failed requests, reasons: {sorted(dlq)}")
    print("outcome events went to the outcome bus; structured JSON logs went to stdout above.")
    print("demo " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
