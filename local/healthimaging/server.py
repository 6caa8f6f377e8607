"""`EmulatorServer`: the service core behind an HTTP server on a thread, plus a settle ticker.

with EmulatorServer(profile=BehaviourProfile.fast()) as emulator:
    client = medical_imaging_client(emulator.endpoint_url)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from local.healthimaging.admin import ADMIN_PREFIX, AdminApi
from local.healthimaging.client import local_aws_client
from local.healthimaging.clock import Clock
from local.healthimaging.http_front import HttpResponse, RestJsonFront
from local.healthimaging.profile import BehaviourProfile
from local.healthimaging.service import HealthImagingService

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.05


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _EmulatorHttpServer

    def _respond(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if url.path.startswith(ADMIN_PREFIX):
            response = self.server.admin.handle(self.command, url.path, body)
        else:
            headers = {k: v for k, v in self.headers.items()}
            response = self.server.front.handle(self.command, url.path, url.query, headers, body)
        self._send(response)

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        # The client may be gone: a cut-off invocation's process is killed mid-call.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _respond  # noqa: N815 - stdlib dispatch names

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry ids only, but tests and the demo want a quiet console."""


class _EmulatorHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], front: RestJsonFront, admin: AdminApi) -> None:
        super().__init__(address, _RequestHandler)
        self.front = front
        self.admin = admin


class EmulatorServer:
    def __init__(
        self,
        profile: BehaviourProfile | None = None,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        s3_endpoint_url: str | None = None,
        eventbridge_endpoint_url: str | None = None,
        event_bus_name: str = "default",
        region: str = "us-east-1",
    ) -> None:
        self.service = HealthImagingService(
            profile=profile,
            clock=clock,
            region=region,
            s3_client=local_aws_client("s3", s3_endpoint_url, region) if s3_endpoint_url else None,
            event_sink=local_aws_client("events", eventbridge_endpoint_url, region)
            if eventbridge_endpoint_url
            else None,
            event_bus_name=event_bus_name,
        )
        self._http = _EmulatorHttpServer((host, port), RestJsonFront(self.service), AdminApi(self.service))
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def endpoint_url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmulatorServer:
        self._threads = [
            threading.Thread(target=self._http.serve_forever, name="healthimaging-http", daemon=True),
            threading.Thread(target=self._tick, name="healthimaging-settle", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _tick(self) -> None:
        while not self._stopping.wait(TICK_SECONDS):
            try:
                self.service.settle_due()
            except Exception:  # a dead ticker would leave every later write unsettled: log, go on
                logger.exception("settle tick failed")

    def stop(self) -> None:
        self._stopping.set()
        self._http.shutdown()
        self._http.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
