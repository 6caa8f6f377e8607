"""moto's server in a child process on a free loopback port, and boto3 clients that reach it.

moto answers from its own process (`local.moto_process`): its request handling no longer competes
for the calling process's interpreter with the HealthImaging emulator and the pollers, and every
server has its own state, so two stacks never share a queue. Callers that still want a clean slate
mid-run call `reset()`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Self

import boto3
from botocore.config import Config

from local.stack_template import REPO_ROOT

LOCAL_REGION = "us-east-1"
# moto's default account; ARNs it builds carry this id.
LOCAL_ACCOUNT_ID = "123456789012"
# Dummy credentials: moto accepts any, and botocore must find some without touching ~/.aws.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
STARTUP_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0
# Patches every local moto runs: without local.moto_speedups moto's process saturates a core in
# the soak; without local.moto_sqs_receive two concurrent receives can take messages of one FIFO
# group at once (the lane's per-image-set order depends on SQS not doing that; see each module);
# without local.moto_dynamodb_atomic two writes to one item can both pass a condition or lose one;
# without local.moto_provenance every message has one SenderId and rules' stamps stay placeholders.
DEFAULT_PATCHES = (
    "local.moto_speedups",
    "local.moto_sqs_receive",
    "local.moto_dynamodb_atomic",
    "local.moto_provenance",
)
# moto's identity for credentials it did not issue (the `testing` key above): GetCallerIdentity's
# UserId, and so the SenderId of what such a client sends.
MOTO_DEFAULT_SENDER_ID = "AKIAIOSFODNN7EXAMPLE"


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients the local stack drives (typed `Any`: boto3 builds them at run time)."""

    sqs: Any
    dynamodb: Any
    events: Any
    s3: Any = None
    iam: Any = None

    @classmethod
    def for_endpoint(cls, endpoint_url: str) -> AwsClients:
        return cls(
            sqs=local_client("sqs", endpoint_url),
            dynamodb=local_client("dynamodb", endpoint_url),
            events=local_client("events", endpoint_url),
            s3=local_client("s3", endpoint_url),
            iam=local_client("iam", endpoint_url),
        )


class MotoServer:
    """moto's server (`local.moto_process`) bound to 127.0.0.1 on a port the OS picks.

    `patches`: modules whose `install()` the moto process runs before serving (changes to moto's
    own code, such as `local.moto_sqs_receive`, must run where moto runs).

    `own_processes`: services (boto3 names, e.g. "dynamodb") served by a moto process each of their
    own, the rest by this one. moto serves a call on one core at most (one interpreter), so a rig
    that keeps it busy splits the load; only services that no other service of moto's calls into
    can go (DynamoDB: nothing else reads it; SQS cannot leave EventBridge, which delivers to it).
    """

    def __init__(
        self,
        ip_address: str = "127.0.0.1",
        port: int = 0,
        patches: Sequence[str] = (),
        own_processes: Sequence[str] = (),
        serves: str = "all",  # a label for process listings: moto serves any service it is asked
    ) -> None:
        self._ip_address = ip_address
        self._port = port
        self._patches = (*DEFAULT_PATCHES, *patches)
        self._process: subprocess.Popen[str] | None = None
        self._endpoint_url: str | None = None
        self._control_lock = threading.Lock()
        self._serves = serves
        self._own = {service: MotoServer(ip_address, 0, patches, serves=service) for service in own_processes}

    def start(self) -> Self:
        self.launch()
        return self.wait_until_ready()

    def launch(self) -> None:
        for server in self._own.values():
            server.launch()
        self._launch()

    def _launch(self) -> None:
        """Starts the process without waiting for it: moto's import takes most of a second, which a
        caller can spend on other start-up work before `wait_until_ready()`."""
        command = [sys.executable, "-m", "local.moto_process", "--host", self._ip_address]
        command += ["--port", str(self._port), "--serves", self._serves]
        for patch in self._patches:
            command += ["--patch", patch]
        search_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ | {"PYTHONPATH": search_path},
        )

    def wait_until_ready(self) -> Self:
        for server in self._own.values():
            server.wait_until_ready()
        return self._wait_until_ready()

    def _wait_until_ready(self) -> Self:
        assert self._process is not None, "launch() first"
        announced = self._read_line(self._process.stdout)
        if not announced:
            self.stop()
            raise RuntimeError("moto's server process ended before it listened (see its stderr)")
        self._endpoint_url = f"http://{self._ip_address}:{json.loads(announced)['port']}"
        self._wait_until_answering()
        return self

    @staticmethod
    def _read_line(stream: IO[str] | None) -> str:
        assert stream is not None
        return stream.readline().strip()

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                # Our own loopback endpoint, never user input.
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/data.json", timeout=5):  # noqa: S310
                    return
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def restart(self, down_s: float) -> None:
        """Every AWS service moto serves is unreachable for `down_s`, state kept (the soak's outage):
        the listening socket and open connections are closed, then it listens on the same port.
        Services in processes of their own go down and come back together with the rest."""
        outages = [threading.Thread(target=s.restart, args=(down_s,)) for s in self._own.values()]
        for outage in outages:
            outage.start()
        self._restart(down_s)
        for outage in outages:
            outage.join()

    def _restart(self, down_s: float) -> None:
        assert self._process is not None and self._process.stdin is not None
        with self._control_lock:
            self._process.stdin.write(f"outage {down_s}\n")
            self._process.stdin.flush()
            if self._read_line(self._process.stdout) != "up":
                raise RuntimeError("moto's server process did not come back after an outage")

    def stop(self) -> None:
        for server in self._own.values():
            server.stop()
        process, self._process = self._process, None
        self._endpoint_url = None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # end of input: the process stops its server and exits
        try:
            process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("MotoServer is not running: call start() first")
        return self._endpoint_url

    def endpoint_for(self, service_name: str) -> str:
        """The endpoint that serves a service (boto3's name for it)."""
        own = self._own.get(service_name)
        return own.endpoint_url if own is not None else self.endpoint_url

    def service_endpoints(self) -> dict[str, str]:
        """The services served by processes of their own, and their endpoints."""
        return {service: server.endpoint_url for service, server in self._own.items()}

    def reset(self) -> None:
        """Drop every resource this server holds."""
        for server in self._own.values():
            server.reset()
        # The URL is our own loopback http endpoint, never user input.
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    def client(self, service_name: str, **config: Any) -> Any:
        return local_client(service_name, self.endpoint_for(service_name), **config)

    def clients(self) -> AwsClients:
        return AwsClients(
            sqs=self.client("sqs"),
            dynamodb=self.client("dynamodb"),
            events=self.client("events"),
            s3=self.client("s3"),
            iam=self.client("iam"),
        )

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
    client_config = Config(**{"inject_host_prefix": False, "retries": {"mode": "standard"}, **config})
    return boto3.session.Session().client(
        service_name,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        config=client_config,
        **LOCAL_CREDENTIALS,
    )


def client_environment(
    moto_endpoint_url: str,
    healthimaging_endpoint_url: str | None = None,
    service_endpoints: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment variables that point boto3 clients built with no arguments at the local stack.

    The Lambda code builds its clients from the environment, exactly as in AWS; these variables
    (the SDKs' service-specific endpoint convention) are the only difference. `service_endpoints`:
    services moto serves from processes of their own (`MotoServer.service_endpoints()`).
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
        "AWS_ENDPOINT_URL_IAM": moto_endpoint_url,
        "AWS_ENDPOINT_URL_STS": moto_endpoint_url,
    }
    for service, endpoint_url in (service_endpoints or {}).items():
        environment[f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}"] = endpoint_url
    if healthimaging_endpoint_url is not None:
        environment["AWS_ENDPOINT_URL_MEDICAL_IMAGING"] = healthimaging_endpoint_url
    return environment
