"""The whole system on one machine: moto, the HealthImaging emulator, the stack's topology, and
local event source mappings running the updater's handler.

    with LocalStack(stage="dev") as stack:
        stack.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=...)
        stack.run_until_idle(60)

`python -m local.stack` keeps one running and writes its endpoints to `build/local-stack.json`,
where `python -m local.submit` and `python -m local.invoke --running` find it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from local.event_source import (
    EventSourceSettings,
    FaultPlan,
    InvocationRecord,
    SqsEventSourcePoller,
    wait_until_idle,
)
from local.lambda_invocation import Handler
from local.moto_stack import AwsClients, MotoServer, client_environment
from local.stack_template import DEFAULT_STAGE, REPO_ROOT, load_stack_resources
from local.topology import LocalTopology, create_topology

STATE_FILE = REPO_ROOT / "build" / "local-stack.json"
LAMBDA_TASK_ROOT = "/var/task/"
LOCAL_DATASTORE_NAME = "local-demo"


def _lambda_code_importable() -> None:
    # Lambda's task root is the asset, whose root is lambdas/ (package `updater`).
    task_root = str(REPO_ROOT / "lambdas")
    if task_root not in sys.path:
        sys.path.insert(0, task_root)


def updater_handler() -> Handler:
    """The real Lambda entry point, imported only when a stack runs it."""
    _lambda_code_importable()
    from updater.handler import lambda_handler  # noqa: PLC0415  (lazy: tests may run other handlers)

    return lambda_handler  # type: ignore[no-any-return]


def simulate_cold_start() -> None:
    """Forgets what the handler built at its first call (settings, clients), as a new Lambda
    execution environment would, so a new stack's environment takes effect."""
    import updater.handler  # noqa: PLC0415
    from updater.settings import load_settings  # noqa: PLC0415

    load_settings.cache_clear()
    updater.handler._runtime = None
    # Lambda runs one invocation per process; the local pollers run several in threads that share
    # Powertools' Metrics singleton, so one invocation's flush can leave another's empty.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


@dataclass
class LocalStackOptions:
    stage: str = DEFAULT_STAGE
    # Resources of the stack, when a test brings its own; default: the real app's (synthesized, cached).
    stack_resources: dict[str, Any] | None = None
    name_prefix: str = ""
    visibility_timeout_s: int | None = None
    function_timeout_s: float | None = None
    workers: int | None = None
    emulator_profile: Any = None
    fault_plan: FaultPlan | None = None
    on_invocation: Callable[[InvocationRecord], None] | None = None
    # Export the function's environment to os.environ, where the handler reads it (cold start).
    apply_environment: bool = True
    extra_environment: dict[str, str] = field(default_factory=dict)


class LocalStack:
    def __init__(self, options: LocalStackOptions | None = None, handler: Handler | None = None) -> None:
        self.options = options or LocalStackOptions()
        self._handler = handler
        self.moto = MotoServer()
        self.emulator: Any = None
        self.datastore_id = ""
        self.topology: LocalTopology | None = None
        self.pollers: list[SqsEventSourcePoller] = []
        self._replaced_environment: dict[str, str | None] = {}

    @property
    def aws(self) -> AwsClients:
        return self.moto.clients()

    def start(self, *, start_pollers: bool = True) -> Self:
        from local.healthimaging import EmulatorServer  # noqa: PLC0415  (another team's module, heavy)

        self.moto.start()
        self.emulator = EmulatorServer(
            profile=self.options.emulator_profile,
            s3_endpoint_url=self.moto.endpoint_url,
            eventbridge_endpoint_url=self.moto.endpoint_url,
        ).start()
        self.datastore_id = self.emulator.service.create_datastore(LOCAL_DATASTORE_NAME)
        self.topology = create_topology(
            self.options.stack_resources or load_stack_resources(self.options.stage),
            self.moto.clients(),
            name_prefix=self.options.name_prefix,
            visibility_timeout_s=self.options.visibility_timeout_s,
            function_timeout_s=self.options.function_timeout_s,
            datastore_ids=[self.datastore_id],
        )
        if self.options.apply_environment:
            self._apply_environment(self.lambda_environment())
        handler = self._handler or updater_handler()
        if self._handler is None:
            simulate_cold_start()
        self.pollers = [
            self._poller(mapping.queue_role, handler) for mapping in self.topology.event_source_mappings
        ]
        if start_pollers:
            for poller in self.pollers:
                poller.start()
        return self

    def _poller(self, queue_role: str, handler: Handler) -> SqsEventSourcePoller:
        assert self.topology is not None
        settings = EventSourceSettings.from_topology(self.topology, queue_role, self.options.workers)
        return SqsEventSourcePoller(
            self.moto.client("sqs"),
            handler,
            settings,
            fault_plan=self.options.fault_plan,
            on_invocation=self.options.on_invocation,
        )

    def lambda_environment(self) -> dict[str, str]:
        """The function's environment from the stack, pointed at the local endpoints."""
        assert self.topology is not None
        environment = dict(self.topology.updater_environment)
        rules_path = environment.get("IMPORT_RULES_PATH", "")
        if rules_path.startswith(LAMBDA_TASK_ROOT):
            environment["IMPORT_RULES_PATH"] = str(self._stage_import_rules_file())
        return (
            environment
            | client_environment(self.moto.endpoint_url, self.emulator.endpoint_url)
            # X-Ray has no daemon locally; Powertools would otherwise try to reach one.
            | {"POWERTOOLS_TRACE_DISABLED": "true"}
            | self.options.extra_environment
        )

    def _stage_import_rules_file(self) -> Path | str:
        # The bundler copies the stage's rules file into the asset; locally it is read in place.
        from infra.config import load_stage_config  # noqa: PLC0415

        return load_stage_config(self.options.stage).import_rules_path() or ""

    def _apply_environment(self, environment: dict[str, str]) -> None:
        self._replaced_environment = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)

    def _restore_environment(self) -> None:
        for name, previous in self._replaced_environment.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
        self._replaced_environment = {}

    def run_until_idle(self, timeout_s: float) -> None:
        for poller in self.pollers:
            poller.start()
        wait_until_idle(self.pollers, timeout_s)

    def invocations(self) -> list[InvocationRecord]:
        return [record for poller in self.pollers for record in poller.invocations]

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        if self.emulator is not None:
            self.emulator.stop()
        self.moto.stop()
        self._restore_environment()

    def write_state(self, path: Path = STATE_FILE) -> None:
        assert self.topology is not None
        state = {
            "moto_endpoint_url": self.moto.endpoint_url,
            "healthimaging_endpoint_url": self.emulator.endpoint_url,
            "datastore_id": self.datastore_id,
            "stage": self.options.stage,
            "topology": self.topology.to_json(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=1), encoding="utf-8")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class RunningStack:
    """A stack another process runs (`python -m local.stack`), as its state file describes it."""

    moto_endpoint_url: str
    healthimaging_endpoint_url: str
    datastore_id: str
    stage: str
    topology: LocalTopology

    @classmethod
    def read(cls, path: Path = STATE_FILE) -> RunningStack:
        if not path.is_file():
            raise FileNotFoundError(
                f"no running local stack: {path} is missing (start one: python -m local.stack)"
            )
        state = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{**state, "topology": LocalTopology.from_json(state["topology"])})

    @property
    def aws(self) -> AwsClients:
        return AwsClients.for_endpoint(self.moto_endpoint_url)


def serve(options: LocalStackOptions | None = None) -> None:
    """Runs a stack until SIGINT/SIGTERM, announcing where it is."""
    stopped = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopped.set())
    with LocalStack(options) as stack:
        stack.write_state()
        print(f"moto:        {stack.moto.endpoint_url}")
        print(f"healthimaging: {stack.emulator.endpoint_url} (data store {stack.datastore_id})")
        print(f"state file:  {STATE_FILE}  (Ctrl-C to stop)")
        stopped.wait()
    STATE_FILE.unlink(missing_ok=True)


if __name__ == "__main__":
    serve()
