"""moto's server runs in a process of its own: state kept across an outage, clients refused during it."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import EndpointConnectionError

from local.moto_stack import MotoServer, client_environment, local_client


def test_an_outage_refuses_connections_at_once_and_keeps_every_queue() -> None:
    with MotoServer() as moto:
        sqs = moto.client("sqs", retries={"mode": "standard", "max_attempts": 1})
        url = sqs.create_queue(QueueName="outage-survivor")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="kept")
        sqs.get_queue_attributes(QueueUrl=url)  # a kept-alive connection the outage must cut too
        outage = threading.Thread(target=moto.restart, args=(1.5,))
        outage.start()
        time.sleep(0.3)
        started = time.monotonic()
        with pytest.raises(EndpointConnectionError):
            sqs.get_queue_attributes(QueueUrl=url)
        refused_in = time.monotonic() - started
        outage.join()

        assert refused_in < 1.0  # a connection error, not a hang
        (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
        assert message["Body"] == "kept"


def test_every_server_has_its_own_state() -> None:
    with MotoServer() as first, MotoServer() as second:
        first.client("sqs").create_queue(QueueName="only-in-the-first")
        assert "QueueUrls" not in second.client("sqs").list_queues()


def test_a_service_in_a_process_of_its_own_is_served_there_and_goes_down_with_the_rest() -> None:
    with MotoServer(own_processes=("dynamodb",)) as moto:
        assert moto.endpoint_for("dynamodb") != moto.endpoint_url
        assert moto.endpoint_for("sqs") == moto.endpoint_url
        assert moto.service_endpoints() == {"dynamodb": moto.endpoint_for("dynamodb")}
        environment = client_environment(moto.endpoint_url, None, moto.service_endpoints())
        assert environment["AWS_ENDPOINT_URL_DYNAMODB"] == moto.endpoint_for("dynamodb")
        assert environment["AWS_ENDPOINT_URL_SQS"] == moto.endpoint_url
        clients = moto.clients()
        clients.dynamodb.create_table(
            TableName="own-process",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        clients.dynamodb.put_item(TableName="own-process", Item={"pk": {"S": "kept"}})
        # The table is in the DynamoDB process, not in the one serving everything else.
        assert local_client("dynamodb", moto.endpoint_url).list_tables()["TableNames"] == []

        dynamodb = moto.client("dynamodb", retries={"mode": "standard", "max_attempts": 1})
        outage = threading.Thread(target=moto.restart, args=(1.5,))
        outage.start()
        time.sleep(0.3)
        with pytest.raises(EndpointConnectionError):
            dynamodb.get_item(TableName="own-process", Key={"pk": {"S": "kept"}})
        outage.join()
        assert dynamodb.get_item(TableName="own-process", Key={"pk": {"S": "kept"}})["Item"]
