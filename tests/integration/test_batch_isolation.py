"""One odd record never harms its batch-mates: hostile attributes, odd event shapes, a write that
DynamoDB refuses. Through the real intake and finalize functions, moto and the emulator behind them."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local.healthimaging.profile import BehaviourProfile
from local.lambda_context import LocalLambdaContext
from local.lambda_invocation import InvocationStatus
from local.scenario import import_image_set
from local.sqs_lambda_event import lambda_sqs_event
from local.stack import LocalStack, LocalStackOptions
from tests.integration.fuzz.test_handler_fuzz import run_the_lane

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        name_prefix=f"iso{uuid.uuid4().hex[:6]}-",
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
    return import_image_set(stack, "CT_small.dcm")


def request(stack: LocalStack, image_set: str, request_id: str) -> str:
    document = {"SchemaVersion": 1.1, "Study": {"DICOM": {"StudyDescription": request_id.upper()}}}
    return json.dumps(
        {
            "datastoreId": stack.datastore_id,
            "imageSetId": image_set,
            "requestId": request_id,
            "DICOMUpdates": {"updatableAttributes": document},
        }
    )


def received(body: str, **attributes: Any) -> dict[str, Any]:
    return {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": uuid.uuid4().hex,
        "Body": body,
        "MD5OfBody": "0" * 32,
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "MessageAttributes": {
            name: {"DataType": "Number" if name == "renewals" else "String", "StringValue": value}
            for name, value in attributes.items()
        },
    }


def outcomes(stack: LocalStack) -> dict[str, dict[str, Any]]:
    assert stack.topology is not None
    from local.chaos_evidence import receive_all  # noqa: PLC0415

    events = receive_all(stack.aws, stack.topology.queue("outcome_capture").url)
    return {e["detail"]["requestId"]: e["detail"] for e in map(json.loads, (m["Body"] for m in events))}


def test_hostile_message_attributes_and_receive_counts_are_not_read_as_numbers(
    stack: LocalStack, image_set: str
) -> None:
    assert stack.topology is not None
    messages = [
        received(request(stack, image_set, "iso-arabic-digit"), renewals="\u0663"),
        received(request(stack, image_set, "iso-long-number"), renewals="9" * 5000),
        received(request(stack, image_set, "iso-plain")),
    ]
    messages[0]["Attributes"]["ApproximateReceiveCount"] = "\u0663"
    messages[1]["Attributes"]["ApproximateReceiveCount"] = "9" * 5000
    event = lambda_sqs_event(messages, stack.topology.queue("ingest").arn)

    result = stack.invoke(stack.topology.function_of("ingest"), event)

    assert result.status is InvocationStatus.RETURNED, result.error_type
    assert result.response == {"batchItemFailures": []}
    run_the_lane(stack)
    ended = outcomes(stack)
    assert {ended[k]["status"] for k in ("iso-arabic-digit", "iso-long-number", "iso-plain")} == {"SUCCEEDED"}


@pytest.mark.parametrize(
    "event",
    [
        {"Records": []},
        {"Records": "not a list"},
        {"Records": [7, None, {"no": "messageId"}]},
        {},
        {"detail": {}},
    ],
)
def test_events_without_answerable_records_return_an_empty_batch_response(
    stack: LocalStack, event: dict[str, Any]
) -> None:
    assert stack.topology is not None
    for role in ("ingest", "fifo_lane", "ingest_dlq"):
        result = stack.invoke(stack.topology.function_of(role), event)
        assert result.status is InvocationStatus.RETURNED, (role, result.error_type)
        assert result.response == {"batchItemFailures": []}


def test_a_record_whose_ledger_write_dynamodb_refuses_fails_alone_and_ends_with_a_reason(
    stack: LocalStack, image_set: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In this process, so a botocore hook on the real client can make DynamoDB refuse one record's
    write (an oversized key): a real refusal, the record's alone."""
    assert stack.topology is not None
    for name, value in stack.function_environment(stack.topology.function_of("ingest")).items():
        monkeypatch.setenv(name, value)
    from updater.adapters.metrics import EmfMetrics  # noqa: PLC0415
    from updater.adapters.sdk import AwsClients  # noqa: PLC0415
    from updater.handlers import finalize, intake  # noqa: PLC0415
    from updater.handlers.observability import metrics  # noqa: PLC0415
    from updater.settings import settings_from  # noqa: PLC0415
    from updater.wiring import build_finalize, build_intake  # noqa: PLC0415

    clients = AwsClients.from_environment()

    def refuse_the_victim(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key", {}).get("pk", {}).get("S") == "req#iso-victim":
            params["Key"] = {"pk": {"S": "req#" + "x" * 3000}}  # over DynamoDB's 2048-byte key limit

    clients.dynamodb.meta.events.register("before-parameter-build.dynamodb.UpdateItem", refuse_the_victim)
    settings = settings_from(os.environ)
    messages = [received(request(stack, image_set, key)) for key in ("iso-before", "iso-victim", "iso-after")]
    event = lambda_sqs_event(messages, stack.topology.queue("ingest").arn)
    context = LocalLambdaContext(function_name="intake", memory_limit_in_mb="512", timeout_s=30)

    response = intake.handle(event, context, build_intake(settings, clients, EmfMetrics(metrics)))

    assert response == {"batchItemFailures": [{"itemIdentifier": messages[1]["MessageId"]}]}
    run_the_lane(stack)
    ended = outcomes(stack)
    assert ended["iso-before"]["status"] == ended["iso-after"]["status"] == "SUCCEEDED"
    assert "iso-victim" not in ended
    # Its deliveries used up, SQS moves it to the redrive DLQ: the finalizer ends it with a reason.
    event["Records"][1]["eventSourceARN"] = stack.topology.queue("ingest_dlq").arn
    finalize.handle(
        {"Records": [event["Records"][1]]},
        context,
        build_finalize(settings, AwsClients.from_environment(), EmfMetrics(metrics)),
    )
    victim = outcomes(stack)["iso-victim"]
    assert (victim["status"], victim["errorCode"]) == ("FAILED", "RETRIES_EXHAUSTED")


def test_a_batchs_requests_reach_their_lanes_in_one_call_and_a_refused_call_fails_only_them(
    stack: LocalStack, image_set: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane messages of a standard queue's batch go in one SendMessageBatch, after the batch.
    When SQS refuses that call (an entry with a delay, which a FIFO queue does not take), the
    records it carried fail and come back; a record ended at once in the same batch is not harmed."""
    assert stack.topology is not None
    for name, value in stack.function_environment(stack.topology.function_of("ingest")).items():
        monkeypatch.setenv(name, value)
    from updater.adapters.metrics import EmfMetrics  # noqa: PLC0415
    from updater.adapters.sdk import AwsClients  # noqa: PLC0415
    from updater.handlers import intake  # noqa: PLC0415
    from updater.handlers.observability import metrics  # noqa: PLC0415
    from updater.settings import settings_from  # noqa: PLC0415
    from updater.wiring import build_intake  # noqa: PLC0415

    clients = AwsClients.from_environment()
    calls: list[str] = []
    clients.sqs.meta.events.register("before-call.sqs", lambda model, **_: calls.append(model.name))

    def refuse(params: dict[str, Any], **_: Any) -> None:
        params["Entries"][0]["DelaySeconds"] = 5

    settings = settings_from(os.environ)
    context = LocalLambdaContext(function_name="intake", memory_limit_in_mb="512", timeout_s=30)
    runtime = build_intake(settings, clients, EmfMetrics(metrics))
    sent = [received(request(stack, image_set, key)) for key in ("lane-1", "lane-2", "lane-3")]
    event = lambda_sqs_event(sent, stack.topology.queue("ingest").arn)

    assert intake.handle(event, context, runtime) == {"batchItemFailures": []}
    assert calls.count("SendMessageBatch") == 1 and "SendMessage" not in calls
    run_the_lane(stack)
    ended = outcomes(stack)
    assert {ended[k]["status"] for k in ("lane-1", "lane-2", "lane-3")} == {"SUCCEEDED"}

    clients.sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", refuse)
    refused = [received(request(stack, image_set, key)) for key in ("lane-4", "lane-5")]
    invalid = received(json.dumps({"requestId": "lane-invalid", "datastoreId": stack.datastore_id}))
    event = lambda_sqs_event([refused[0], invalid, refused[1]], stack.topology.queue("ingest").arn)
    response = intake.handle(event, context, runtime)
    assert response == {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in refused]}
    assert outcomes(stack)["lane-invalid"]["status"] == "FAILED"  # ended at once, not harmed
    clients.sqs.meta.events.unregister("before-parameter-build.sqs.SendMessageBatch", refuse)
    again = [event["Records"][0], event["Records"][2]]  # SQS brings them back
    assert intake.handle({"Records": again}, context, runtime) == {"batchItemFailures": []}
    run_the_lane(stack)
    ended = outcomes(stack)
    assert {ended[k]["status"] for k in ("lane-4", "lane-5")} == {"SUCCEEDED"}
