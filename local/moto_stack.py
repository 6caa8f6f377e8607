"""moto's server, in-process on a free loopback port, and boto3 clients that reach it.

moto keeps its state in process-wide backends: two servers started in one process share every queue,
table and bus. Callers that need isolation give their resources distinct names (see
`local.topology.create_topology(name_prefix=...)`) or call `reset()`.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from local import moto_speedups

LOCAL_REGION = "us-east-1"
# moto's default account; ARNs it builds carry this id.
LOCAL_ACCOUNT_ID = "123456789012"
# Dummy credentials: moto accepts any, and botocore must find some without touching ~/.aws.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients the local stack drives (typed `Any`: boto3 builds them at run time)."""

    sqs: Any
    dynamodb: Any
    events: Any

    @classmethod
    def for_endpoint(cls, endpoint_url: str) -> AwsClients:
        return cls(
            sqs=local_client("sqs", endpoint_url),
            dynamodb=local_client("dynamodb", endpoint_url),
            events=local_client("events", endpoint_url),
        )


class MotoServer:
    """moto's ThreadedMotoServer bound to 127.0.0.1 on a port the OS picks (no races between runs)."""

    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadedMotoServer(ip_address=ip_address, port=port, verbose=False)
        self._endpoint_url: str | None = None

    def start(self) -> Self:
        # werkzeug logs one line per request to stderr; the demo's output is for people.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_speedups.install()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self._endpoint_url = f"http://{host}:{port}"
        return self

    def restart(self, down_s: float) -> None:
        """Stops the server for `down_s` and starts it again on the same port, state kept (moto's
        backends live in the process): the soak's outage of every AWS service but HealthImaging."""
        host, port = self._server.get_host_and_port()
        self._server.stop()
        time.sleep(down_s)
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._endpoint_url is not None:
            self._server.stop()
            self._endpoint_url = None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("MotoServer is not running: call start() first")
        return self._endpoint_url

    def reset(self) -> None:
        """Drop every resource moto holds (all servers in this process share them)."""
        # The URL is our own loopback http endpoint, never user input.
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    def client(self, service_name: str, **config: Any) -> Any:
        return local_client(service_name, self.endpoint_url, **config)

    def clients(self) -> AwsClients:
        return AwsClients.for_endpoint(self.endpoint_url)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def local_client(service_name: str, endpoint_url: str, **config: Any) -> Any:
    """A boto3 client for a local endpoint: dummy credentials, us-east-1, no host prefix.

    Host prefix injection is off because HealthImaging's runtime operations would otherwise
    prepend `runtime-` to `127.0.0.1`; it is harmless for the other services.
    """
    client_config = Config(inject_host_prefix=False, retries={"mode": "standard"}, **config)
    return boto3.session.Session().client(
        service_name,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        config=client_config,
        **LOCAL_CREDENTIALS,
    )


def client_environment(
    moto_endpoint_url: str, healthimaging_endpoint_url: str | None = None
) -> dict[str, str]:
    """Environment variables that point boto3 clients built with no arguments at the local stack.

    The Lambda code builds its clients from the environment, exactly as in AWS; these variables
    (the SDKs' service-specific endpoint convention) are the only difference.
    """
    environment = {
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_ENDPOINT_URL_SQS": moto_endpoint_url,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint_url,
        "AWS_ENDPOINT_URL_EVENTBRIDGE": moto_endpoint_url,
        "AWS_ENDPOINT_URL_S3": moto_endpoint_url,
        "AWS_ENDPOINT_URL_CLOUDWATCH": moto_endpoint_url,
    }
    if healthimaging_endpoint_url is not None:
        environment["AWS_ENDPOINT_URL_MEDICAL_IMAGING"] = healthimaging_endpoint_url
    return environment
