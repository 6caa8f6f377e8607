"""Fuzzed SQS batches through the real intake function, then the lane through the real apply
function, with moto and the HealthImaging emulator behind them.

Whatever the other records hold, intake returns (it never raises out of a batch), reports no record
for redelivery, forwards the good request (which then succeeds on its lane), and every bad record
reaches the failures queue with a specific failure code.
"""

from __future__ import annotations

import hashlib
import json
import string
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from local.chaos_evidence import receive_all
from local.healthimaging.profile import BehaviourProfile
from local.lambda_invocation import InvocationStatus
from local.sqs_lambda_event import lambda_sqs_event
from local.stack import LocalStack, LocalStackOptions
from updater.adapters.failures import EMPTY_BODY

pytestmark = pytest.mark.integration
# Bad bodies earlier examples sent: sent again they replay their outcome instead of failing anew.
SEEN_BODIES: set[str] = set()
PROFILE = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# What SQS accepts in a message body (anything else never reaches the function).
sqs_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)]
    ),
    max_size=200,
)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"fuzz{uuid.uuid4().hex[:6]}-",
        function_timeout_s=30,
        emulator_profile=BehaviourProfile.fast(),
        extra_environment={"UPDATE_RATE_PER_SECOND": "100", "UPDATE_BURST": "20"},
    )
    running = LocalStack(options).start(start_pollers=False)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def image_set(stack: LocalStack) -> str:
    (image_set_id,) = stack.emulator.service.import_dicom_files(
        stack.datastore_id, [str(get_testdata_file("CT_small.dcm"))]
    )
    return str(image_set_id)


def request(stack: LocalStack, image_set: str, **fields: Any) -> dict[str, Any]:
    document = {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": "FUZZ"}}}
    return {
        "datastoreId": stack.datastore_id,
        "imageSetId": image_set,
        "requestId": f"fuzz-{uuid.uuid4().hex[:12]}",
        "DICOMUpdates": {"updatableAttributes": document},
    } | fields


def bad_bodies(stack: LocalStack, image_set: str) -> st.SearchStrategy[str]:
    def with_document(document: Any) -> str:
        return json.dumps(request(stack, image_set, DICOMUpdates={"updatableAttributes": document}))

    nesting = st.integers(70, 3000).map(lambda depth: "[" * depth + "]" * depth)
    uid_keys = st.text(alphabet=string.ascii_letters + ".-", min_size=1, max_size=12).map(
        lambda uid: with_document({"SchemaVersion": 1.1, "Study": {"Series": {uid: {"DICOM": {}}}}})
    )
    vrs = st.sampled_from(["XX", "ZZ", "", "pn", "SQQ"]).map(
        lambda vr: with_document(
            {"SchemaVersion": 1.1, "Patient": {"DICOM": {"00111001": "X"}, "DICOMVRs": {"00111001": vr}}}
        )
    )
    wrong_types = st.sampled_from(["datastoreId", "imageSetId", "force", "DICOMUpdates"]).flatmap(
        lambda field: st.sampled_from([None, 7, [], {"a": 1}, "x"]).map(
            lambda value: json.dumps(request(stack, image_set, **{field: value}))
        )
    )
    awkward_values = sqs_text.map(
        lambda text: with_document({"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDate": text + "?"}}})
    )
    return st.one_of(
        sqs_text.filter(lambda t: not t.strip().startswith("{")),
        nesting,
        uid_keys,
        vrs,
        wrong_types,
        awkward_values,
    )


def as_received(bodies: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": uuid.uuid4().hex,
            "Body": body,
            "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "0",
            },
        }
        for body in bodies
    ]


def run_the_lane(stack: LocalStack, budget_s: float = 30.0) -> None:
    """What the lane's event source mapping does, batch after batch, until the lane is empty:
    receive, invoke apply, delete what ended (waiting messages stay hidden for their wait). No
    intake runs here, so settle notices do not arrive: waits end by the fallback poll."""
    assert stack.topology is not None
    lane = stack.topology.queue("fifo_lane")
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        messages = stack.aws.sqs.receive_message(
            QueueUrl=lane.url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not messages:
            depth = stack.aws.sqs.get_queue_attributes(
                QueueUrl=lane.url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if not any(int(count) for count in depth.values()):
                return
            continue
        result = stack.invoke(stack.topology.function_of("fifo_lane"), lambda_sqs_event(messages, lane.arn))
        assert result.status is InvocationStatus.RETURNED, result.error_type
        waiting = {f["itemIdentifier"] for f in result.response["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in waiting]
        if done:
            stack.aws.sqs.delete_message_batch(
                QueueUrl=lane.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
    raise AssertionError("the lane did not drain")


@PROFILE
@given(data=st.data())
def test_a_batch_of_fuzzed_records_never_fails_the_good_one(
    stack: LocalStack, image_set: str, data: Any
) -> None:
    assert stack.topology is not None
    bad = data.draw(st.lists(bad_bodies(stack, image_set), min_size=1, max_size=6, unique=True))
    good = request(stack, image_set)
    bodies = [*bad, json.dumps(good)]
    data.draw(st.randoms()).shuffle(bodies)
    event = lambda_sqs_event(as_received(bodies), stack.topology.queue("ingest").arn)

    result = stack.invoke(stack.topology.function_of("ingest"), event)

    assert result.status is InvocationStatus.RETURNED, result.error_type
    assert result.response == {"batchItemFailures": []}
    run_the_lane(stack)
    outcomes = {
        e["detail"]["requestId"]: e["detail"]
        for e in map(
            json.loads,
            (m["Body"] for m in receive_all(stack.aws, stack.topology.queue("outcome_capture").url)),
        )
    }
    assert outcomes[good["requestId"]]["status"] == "SUCCEEDED"
    letters = {
        m["Body"]: m.get("MessageAttributes", {})
        for m in receive_all(stack.aws, stack.topology.queue("failures").url)
    }
    for body in bad:
        kept_as = body or EMPTY_BODY  # SQS takes no empty body: its failure record carries a placeholder
        code = letters[kept_as]["failureCode"]["StringValue"] if kept_as in letters else None
        assert code != "INTERNAL_ERROR"
        assert code is not None or body in SEEN_BODIES
    SEEN_BODIES.update(bad)
