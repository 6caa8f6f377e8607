"""The whole system on one machine: moto, the HealthImaging emulator, the stack's topology, and
local event source mappings invoking the stack's functions the way Lambda does.

    with LocalStack(LocalStackOptions(stage="dev")) as stack:
        stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=...)
        stack.run_until_idle(60)
        stack.function_logs()  # what the functions wrote (JSON logs, EMF metrics)

moto answers from a process of its own; each function runs in execution environments (worker
processes with the function's environment, one invocation at a time, killed on a timeout or a
cut-off); the emulator and the pollers run in this process. With `in_process=True` the handlers run
on the pollers' threads instead (for profilers and debuggers; no timeouts, no cut-offs).

`python -m local.stack` keeps one running (`local.stack_server`: pydicom's samples imported, their
ids printed) and writes its endpoints to `build/local-stack.json`, where `python -m local.submit`,
`local.outcomes`, `local.invoke --running` and `python -m updater_ops` find it.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from local.event_source import (
    EventSourceSettings,
    FaultPlan,
    InvocationRecord,
    SqsEventSourcePoller,
    stop_pollers,
    wait_until_idle,
)
from local.execution_environments import ExecutionEnvironments
from local.lambda_context import LocalLambdaContext
from local.lambda_invocation import FunctionInvoker, InProcessEnvironment, InProcessFunction, InvocationResult
from local.moto_stack import AwsClients, MotoServer, client_environment
from local.stack_template import DEFAULT_STAGE, REPO_ROOT, load_stack_resources
from local.topology import LocalFunction, LocalTopology, create_topology

STATE_FILE = REPO_ROOT / "build" / "local-stack.json"
SERVE_RUN_DIR = REPO_ROOT / "build" / "local-stack"
LAMBDA_TASK_ROOT = "/var/task/"
LOCAL_DATASTORE_NAME = "local-demo"


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
    # Added to every function's environment (e.g. a faster pacer).
    extra_environment: dict[str, str] = field(default_factory=dict)
    # Handlers on the pollers' threads in this process (profilers, debuggers): no timeout is
    # enforced and nothing is cut off. This process's os.environ gets the functions' environments
    # until stop(), and the handlers' modules must not be imported yet (their import is the cold start).
    in_process: bool = False
    # A Handler setting run instead of every function's own (e.g. the bench's naive updater).
    handler: str | None = None
    # Log streams go to <run_dir>/<function name>/env-<n>.log; default: a directory removed at stop().
    run_dir: Path | None = None
    # Modules whose install() moto's process runs before serving (e.g. local.moto_sqs_receive).
    moto_patches: tuple[str, ...] = ()
    # Services moto serves from a process each of their own (e.g. ("dynamodb",): see MotoServer).
    moto_own_processes: tuple[str, ...] = ()


class LocalStack:
    def __init__(self, options: LocalStackOptions | None = None) -> None:
        self.options = options or LocalStackOptions()
        self.moto = MotoServer(
            patches=self.options.moto_patches, own_processes=self.options.moto_own_processes
        )
        self.emulator: Any = None
        self.datastore_id = ""
        self.topology: LocalTopology | None = None
        self.functions: dict[str, FunctionInvoker] = {}
        self.pollers: list[SqsEventSourcePoller] = []
        self._run_dir: Path | None = None
        self._aws: AwsClients | None = None
        self._in_process = InProcessEnvironment()

    @property
    def aws(self) -> AwsClients:
        """Clients of this stack's moto, built once (boto3 clients are thread-safe; building one
        costs a tenth of a second of CPU)."""
        if self._aws is None:
            self._aws = self.moto.clients()
        return self._aws

    @property
    def run_dir(self) -> Path:
        if self._run_dir is None:
            raise RuntimeError("the stack is not running: call start() first")
        return self._run_dir

    def start(self, *, start_pollers: bool = True) -> Self:
        self.moto.launch()  # moto's process boots while the rest is prepared
        from local.healthimaging import EmulatorServer  # noqa: PLC0415  (another team's module, heavy)

        self._run_dir = self.options.run_dir or Path(tempfile.mkdtemp(prefix="local-stack-"))
        resources = self.options.stack_resources or load_stack_resources(self.options.stage)
        self.moto.wait_until_ready()
        self.emulator = EmulatorServer(
            profile=self.options.emulator_profile,
            s3_endpoint_url=self.moto.endpoint_url,
            eventbridge_endpoint_url=self.moto.endpoint_url,
        ).start()
        self.datastore_id = self.emulator.service.create_datastore(LOCAL_DATASTORE_NAME)
        self.topology = create_topology(
            resources,
            self.aws,
            name_prefix=self.options.name_prefix,
            visibility_timeout_s=self.options.visibility_timeout_s,
            function_timeout_s=self.options.function_timeout_s,
            datastore_ids=[self.datastore_id],
        )
        self.functions = (
            self._in_process_functions() if self.options.in_process else self._execution_environments()
        )
        self.pollers = [self._poller(mapping.queue_role) for mapping in self.topology.event_source_mappings]
        if start_pollers:
            for poller in self.pollers:
                poller.start()
        return self

    def _handler_of(self, function: LocalFunction) -> LocalFunction:
        return replace(function, handler=self.options.handler) if self.options.handler else function

    def _execution_environments(self) -> dict[str, FunctionInvoker]:
        assert self.topology is not None
        pools: dict[str, FunctionInvoker] = {}
        for logical_id, function in self.topology.functions.items():
            log_dir = self.run_dir / function.function_name
            shutil.rmtree(log_dir, ignore_errors=True)  # this run's streams only
            pools[logical_id] = ExecutionEnvironments(
                self._handler_of(function), self.function_environment(function), log_dir
            )
        return pools

    def _in_process_functions(self) -> dict[str, FunctionInvoker]:
        """They share this process, so their environments share its os.environ."""
        assert self.topology is not None
        functions = {lid: self._handler_of(f) for lid, f in self.topology.functions.items()}
        handlers = self._in_process.import_handlers(
            [self.function_environment(f) for f in functions.values()],
            [f.handler for f in functions.values()],
        )
        return {lid: InProcessFunction(h) for lid, h in zip(functions, handlers, strict=True)}

    def _poller(self, queue_role: str) -> SqsEventSourcePoller:
        assert self.topology is not None
        settings = EventSourceSettings.from_topology(self.topology, queue_role, self.options.workers)
        return SqsEventSourcePoller(
            self.moto.client("sqs"),
            self.functions[self.topology.mapping(queue_role).function_id],
            settings,
            fault_plan=self.options.fault_plan,
            on_invocation=self.options.on_invocation,
        )

    def function_environment(self, function: LocalFunction) -> dict[str, str]:
        """A function's environment from the stack, pointed at the local endpoints."""
        environment = dict(function.environment)
        rules_path = environment.get("IMPORT_RULES_PATH", "")
        if rules_path.startswith(LAMBDA_TASK_ROOT):
            environment["IMPORT_RULES_PATH"] = str(self._stage_import_rules_file())
        return (
            environment
            | client_environment(
                self.moto.endpoint_url, self.emulator.endpoint_url, self.moto.service_endpoints()
            )
            # X-Ray has no daemon locally; Powertools would otherwise try to reach one.
            | {"POWERTOOLS_TRACE_DISABLED": "true"}
            | self.options.extra_environment
        )

    def _stage_import_rules_file(self) -> Path | str:
        # The bundler copies the stage's rules file into the asset; locally it is read in place.
        from infra.config import load_stage_config  # noqa: PLC0415

        return load_stage_config(self.options.stage).import_rules_path() or ""

    def invoke(self, function: LocalFunction | str, event: dict[str, Any]) -> InvocationResult:
        """One synchronous invocation (Lambda's Invoke), outside any event source mapping."""
        assert self.topology is not None
        target = self.topology.function(function) if isinstance(function, str) else function
        context = LocalLambdaContext(target.function_name, str(target.memory_mb), target.timeout_s)
        return self.functions[target.logical_id].invoke(event, context)

    def function_logs(self, function: LocalFunction | str | None = None) -> str:
        """What a function's environments wrote to stdout and stderr (JSON logs, EMF metrics),
        or every function's when none is named. Empty in process (the handlers write to ours)."""
        assert self.topology is not None
        if function is None:
            return "".join(self.function_logs(f) for f in self.topology.functions.values())
        target = self.topology.function(function) if isinstance(function, str) else function
        invoker = self.functions[target.logical_id]
        return invoker.logs() if isinstance(invoker, ExecutionEnvironments) else ""

    def run_until_idle(self, timeout_s: float) -> None:
        for poller in self.pollers:
            poller.start()
        wait_until_idle(self.pollers, timeout_s)

    def invocations(self) -> list[InvocationRecord]:
        return [record for poller in self.pollers for record in poller.invocations]

    def stop(self) -> None:
        stop_pollers(self.pollers)
        for function in self.functions.values():
            function.close()
        if self.emulator is not None:
            self.emulator.stop()
        self.moto.stop()
        self._aws = None
        self._in_process.restore()
        if self.options.run_dir is None and self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)
        self._run_dir = None

    def write_state(self, path: Path = STATE_FILE, samples: dict[str, Any] | None = None) -> None:
        """Where another process finds this stack (`RunningStack.read`); `samples`: the image sets
        `local.stack_server` imported (a `local.samples.SampleImport` as JSON)."""
        assert self.topology is not None
        state = {
            "moto_endpoint_url": self.moto.endpoint_url,
            "healthimaging_endpoint_url": self.emulator.endpoint_url,
            "datastore_id": self.datastore_id,
            "stage": self.options.stage,
            "run_dir": str(self.run_dir),
            "topology": self.topology.to_json(),
            "samples": samples,
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
    run_dir: str
    topology: LocalTopology
    samples: dict[str, Any] | None = None  # a local.samples.SampleImport as JSON

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


if __name__ == "__main__":
    from local.command_line import run
    from local.stack_server import main

    sys.exit(run(main))
