"""moto's server in a process of its own: `python -m local.moto_process [--patch MODULE]...`.

`local.moto_stack.MotoServer` runs it. It listens on 127.0.0.1 (a port the OS picks unless one is
given), prints `{"port": N}` as one line on stdout, then reads commands on stdin:

- `outage SECONDS`: closes the listening socket and every open connection, waits, and listens again
  on the same port, then answers `up`. moto's backends live in this process, so queues, tables and
  buses survive: the soak's outage of every AWS service but HealthImaging. Clients meet refused
  connections and resets (connection errors), never a server that accepts and stays silent.
- end of input (the parent stopped it, or died): the process exits at once.

`--patch MODULE` imports MODULE and calls its `install()` before serving: changes to moto's own
code (e.g. `local.moto_sqs_receive`) must run where moto runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

# After an outage another socket may hold the port for a moment (TIME_WAIT is covered by
# SO_REUSEADDR, which werkzeug sets): try again this often before giving up.
REBIND_ATTEMPTS = 50
REBIND_PAUSE_S = 0.1

_open_connections: set[socket.socket] = set()
_connections_lock = threading.Lock()


class _TrackedRequestHandler(MotoRequestHandler):
    """moto's request handler, remembering its connection so that an outage can cut it: werkzeug
    keeps HTTP/1.1 connections alive, and a pooled connection would otherwise go on being served."""

    def setup(self) -> None:
        super().setup()
        with _connections_lock:
            _open_connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with _connections_lock:
                _open_connections.discard(self.connection)


class MotoProcessServer:
    def __init__(self, host: str, port: int) -> None:
        self._app = DomainDispatcherApplication(create_backend_app)
        self._host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def listen(self) -> None:
        for attempt in range(REBIND_ATTEMPTS):
            try:
                server = make_server(
                    self._host, self.port, self._app, threaded=True, request_handler=_TrackedRequestHandler
                )
                break
            except OSError:
                if attempt == REBIND_ATTEMPTS - 1:
                    raise
                time.sleep(REBIND_PAUSE_S)
        server.handle_error = _quiet_when_a_client_is_gone(server.handle_error)  # type: ignore[method-assign]
        self._server = server
        self.port = server.server_port
        self._thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with _connections_lock:
            connections = list(_open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)
        self._server = None

    def outage(self, seconds: float) -> None:
        self.close()
        time.sleep(seconds)
        self.listen()


def _quiet_when_a_client_is_gone(report: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """socketserver prints a traceback for every request whose connection broke; here that is a
    killed execution environment or an outage, both on purpose."""

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            report(request, client_address)

    return handle_error


def _answer(message: Any) -> None:
    sys.stdout.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.moto_process")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--patch", action="append", default=[], metavar="MODULE")
    # What the process is for, read by process listings (bench.rig_cpu); moto serves every service.
    parser.add_argument("--serves", default="all", metavar="SERVICE")
    arguments = parser.parse_args(argv)
    # werkzeug logs one line per request; moto's own errors still reach stderr.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for module in arguments.patch:
        importlib.import_module(module).install()
    server = MotoProcessServer(arguments.host, arguments.port)
    server.listen()
    _answer({"port": server.port})
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "outage":
            server.outage(float(argument))
            _answer("up")
    # No orderly shutdown: the state goes with the process, and werkzeug's would wait out its
    # half-second poll.
    return 0


if __name__ == "__main__":
    sys.exit(main())
