"""moto's server runs in a process of its own: state kept across an outage, clients refused during it."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import EndpointConnectionError

from local.moto_stack import MotoServer


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
