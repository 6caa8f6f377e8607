"""The stack's queues, table, buses and rules exist in moto as the template declares them."""

from __future__ import annotations

import json
import uuid

from local.moto_stack import AwsClients
from local.topology import LocalTopology, create_topology
from tests.local.stack.conftest import TEST_VISIBILITY_TIMEOUT_S
from tests.local.stack.handwritten_stack import (
    BATCH_SIZE,
    MAX_RECEIVE_COUNT,
    STAGE_DATASTORE_ID,
    handwritten_stack_resources,
)


def queue_attributes(aws: AwsClients, url: str) -> dict[str, str]:
    return aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]  # type: ignore[no-any-return]


def receive_bodies(aws: AwsClients, url: str) -> list[dict[str, object]]:
    messages = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
        "Messages", []
    )
    return [json.loads(message["Body"]) for message in messages]


def test_every_queue_gets_a_role_and_the_ingest_queues_redrive_to_their_own_dlq(
    aws: AwsClients, topology: LocalTopology
) -> None:
    assert set(topology.queues) == {
        "ingest",
        "ingest_dlq",
        "fifo_ingest",
        "fifo_ingest_dlq",
        "import_rule_dlq",
        "requests_rule_dlq",
        "outcome_capture",
    }
    for role in ("ingest", "fifo_ingest"):
        queue = topology.queue(role)
        redrive = json.loads(queue_attributes(aws, queue.url)["RedrivePolicy"])
        assert redrive == {
            "deadLetterTargetArn": topology.queue(f"{role}_dlq").arn,
            "maxReceiveCount": MAX_RECEIVE_COUNT,
        }
        assert queue.max_receive_count == MAX_RECEIVE_COUNT
        assert queue.visibility_timeout_s == TEST_VISIBILITY_TIMEOUT_S


def test_fifo_queues_are_fifo_and_dlqs_keep_the_declared_retention(
    aws: AwsClients, topology: LocalTopology
) -> None:
    fifo = queue_attributes(aws, topology.queue("fifo_ingest").url)
    assert fifo["FifoQueue"] == "true"
    assert fifo["ContentBasedDeduplication"] == "true"
    assert topology.queue("fifo_ingest_dlq").name.endswith(".fifo")
    dlq = queue_attributes(aws, topology.queue("ingest_dlq").url)
    assert dlq["MessageRetentionPeriod"] == "1209600"
    # Only polled queues get the shortened visibility; the rest keep the template's value.
    assert dlq["VisibilityTimeout"] == "720"


def test_ledger_table_has_pk_and_ttl(aws: AwsClients, topology: LocalTopology) -> None:
    table = aws.dynamodb.describe_table(TableName=topology.table_name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    ttl = aws.dynamodb.describe_time_to_live(TableName=topology.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


def test_function_environment_resolves_to_local_names_and_urls(topology: LocalTopology) -> None:
    environment = topology.function_of("ingest").environment
    assert environment["LEDGER_TABLE_NAME"] == topology.table_name
    assert environment["OUTCOME_BUS_NAME"] == topology.buses["outcome"]
    assert environment["FAILURE_DLQ_URL"] == topology.queue("ingest_dlq").url
    assert environment["INGEST_QUEUE_URL"] == topology.queue("ingest").url
    assert environment["IMPORT_RULES_PATH"] == "/var/task/import-rules.json"
    # The KMS key is not created locally, so the variable that names it is left out.
    assert "KEY_ARN" not in environment


def test_event_source_mappings_and_function_limits_come_from_the_template(topology: LocalTopology) -> None:
    assert {m.queue_role for m in topology.event_source_mappings} == {"ingest", "fifo_ingest"}
    for mapping in topology.event_source_mappings:
        assert mapping.batch_size == BATCH_SIZE
        assert mapping.report_batch_item_failures
        assert mapping.maximum_concurrency == 2
        assert mapping.function_id == "UpdaterFunction1A2B3C4D"
    (function,) = topology.functions.values()
    assert function.memory_mb == 512
    assert function.handler == "updater.handler.lambda_handler"
    assert function.function_name.endswith("svc-dev-updater")
    assert topology.function(function.function_name) is topology.function(function.logical_id) is function


def test_import_completed_event_on_default_bus_reaches_ingest_queue_with_account(
    aws: AwsClients, topology: LocalTopology
) -> None:
    detail = {"datastoreId": STAGE_DATASTORE_ID, "jobStatus": "COMPLETED"}
    aws.events.put_events(
        Entries=[
            {
                "Source": "aws.medical-imaging",
                "DetailType": "Import Job Completed",
                "Detail": json.dumps(detail),
            }
        ]
    )
    other_store = detail | {"datastoreId": "ffffffffffffffffffffffffffffffff"}
    aws.events.put_events(
        Entries=[
            {
                "Source": "aws.medical-imaging",
                "DetailType": "Import Job Completed",
                "Detail": json.dumps(other_store),
            }
        ]
    )
    bodies = receive_bodies(aws, topology.queue("ingest").url)
    assert [body["detail"] for body in bodies] == [detail]
    assert bodies[0]["account"] == "123456789012"
    assert bodies[0]["detail-type"] == "Import Job Completed"


def test_requests_bus_rule_forwards_requests_to_ingest_queue(
    aws: AwsClients, topology: LocalTopology
) -> None:
    request = {"datastoreId": "0123456789abcdef0123456789abcdef", "imageSetId": "a" * 32}
    aws.events.put_events(
        Entries=[
            {
                "Source": "com.example.ris",
                "DetailType": "ImageSetMetadataUpdate.Requested",
                "Detail": json.dumps(request),
                "EventBusName": topology.buses["requests"],
            }
        ]
    )
    bodies = receive_bodies(aws, topology.queue("ingest").url)
    assert [(body["source"], body["detail"]) for body in bodies] == [("com.example.ris", request)]


def test_outcome_capture_queue_receives_every_outcome_bus_event(
    aws: AwsClients, topology: LocalTopology
) -> None:
    for detail_type in ("ImageSetMetadataUpdate.Succeeded", "ImageSetMetadataUpdate.Failed"):
        aws.events.put_events(
            Entries=[
                {
                    "Source": "healthimaging.metadata-updater",
                    "DetailType": detail_type,
                    "Detail": json.dumps({"imageSetId": "b" * 32}),
                    "EventBusName": topology.buses["outcome"],
                }
            ]
        )
    bodies = receive_bodies(aws, topology.queue("outcome_capture").url)
    assert sorted(body["detail-type"] for body in bodies) == [
        "ImageSetMetadataUpdate.Failed",
        "ImageSetMetadataUpdate.Succeeded",
    ]


def test_topology_round_trips_through_json(topology: LocalTopology) -> None:
    assert LocalTopology.from_json(json.loads(json.dumps(topology.to_json()))) == topology


def test_local_datastore_ids_replace_the_stages_in_rules_and_environment(aws: AwsClients) -> None:
    local_store = "f" * 32
    topology = create_topology(
        handwritten_stack_resources(),
        aws,
        name_prefix=f"t{uuid.uuid4().hex[:8]}-",
        datastore_ids=[local_store],
    )
    assert topology.function_of("ingest").environment["DATASTORE_IDS"] == local_store
    for datastore_id in (STAGE_DATASTORE_ID, local_store):
        aws.events.put_events(
            Entries=[
                {
                    "Source": "aws.medical-imaging",
                    "DetailType": "Import Job Completed",
                    "Detail": json.dumps({"datastoreId": datastore_id}),
                }
            ]
        )
    bodies = receive_bodies(aws, topology.queue("ingest").url)
    assert [body["detail"] for body in bodies] == [{"datastoreId": local_store}]
