"""Creates in moto the queues, table, buses and rules the CDK stack defines, from its own template.

The input is the stack's resources (`local.stack_template.load_stack_resources`), so a queue's
redrive policy, a rule's pattern or a function's environment cannot drift from what AWS gets.
Two local additions, both documented on `LocalTopology`: an `outcome_capture` queue that receives
every event of the outcome bus (so tests and the demo can read outcomes back), and an input
transformer on SQS rule targets that restores the `account` field moto's delivery drops.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from local.callers import create_caller_roles, local_callers_setting
from local.moto_stack import LOCAL_ACCOUNT_ID, LOCAL_REGION, AwsClients
from local.template_values import TemplateValues, UnresolvedValue
from local.topology_resources import (
    BUS_TYPE,
    FUNCTION_TYPE,
    RULE_TYPE,
    TABLE_TYPE,
    CreatedQueue,
    MotoResourceBuilder,
    capture_bus_events,
)
from local.topology_roles import RoleAssignment, polled_queues


@dataclass(frozen=True)
class LocalQueue(CreatedQueue):
    """A queue created in moto, with the role it plays in the stack."""

    role: str
    logical_id: str


@dataclass(frozen=True)
class LocalEventSourceMapping:
    """How Lambda polls one queue (from the stack's AWS::Lambda::EventSourceMapping), and which
    function it invokes (the logical id its FunctionName refers to)."""

    queue_role: str
    function_id: str
    batch_size: int
    maximum_batching_window_s: float
    maximum_concurrency: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class LocalFunction:
    """One AWS::Lambda::Function: where its code starts (`handler`, e.g.
    `updater.handler.lambda_handler`), its limits, and exactly its environment in the stack with
    local names and URLs filled in (variables naming resources moto does not hold are left out)."""

    logical_id: str
    function_name: str
    handler: str
    timeout_s: float
    memory_mb: int
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LocalTopology:
    """What was created, by role. Queues: the physical name after the stack's `<service>-<stage>-`
    prefix, with `-` as `_` and `.fifo` as a `fifo_` prefix (`ingest`, `ingest_dlq`, `fifo_ingest`,
    `fifo_ingest_dlq`, `import_rule_dlq`, `requests_rule_dlq`), plus the local `outcome_capture`;
    a queue without a name keeps its logical id. Buses: `outcome`, `requests`. Rules:
    `import_completed`, `requests`, `outcome_capture`. Functions by logical id; each event source
    mapping names the function it invokes.
    """

    queues: dict[str, LocalQueue]
    table_name: str
    buses: dict[str, str]
    rules: dict[str, str]
    functions: dict[str, LocalFunction]
    event_source_mappings: tuple[LocalEventSourceMapping, ...]

    def queue(self, role: str) -> LocalQueue:
        try:
            return self.queues[role]
        except KeyError:
            raise KeyError(f"no {role!r} queue; the topology has {sorted(self.queues)}") from None

    def function(self, key: str) -> LocalFunction:
        """A function by logical id or by (physical) function name."""
        for function in self.functions.values():
            if key in (function.logical_id, function.function_name):
                return function
        raise KeyError(f"no function {key!r}; the topology has {sorted(self.functions)}")

    def mapping(self, queue_role: str) -> LocalEventSourceMapping:
        for mapping in self.event_source_mappings:
            if mapping.queue_role == queue_role:
                return mapping
        polled = sorted(m.queue_role for m in self.event_source_mappings)
        raise KeyError(f"no event source mapping polls {queue_role!r}; polled: {polled}")

    def function_of(self, queue_role: str) -> LocalFunction:
        """The function the event source mapping on that queue invokes."""
        return self.functions[self.mapping(queue_role).function_id]

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(self, default=lambda value: value.__dict__))  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> LocalTopology:
        return cls(
            queues={role: LocalQueue(**queue) for role, queue in document["queues"].items()},
            table_name=document["table_name"],
            buses=document["buses"],
            rules=document["rules"],
            functions={lid: LocalFunction(**f) for lid, f in document["functions"].items()},
            event_source_mappings=tuple(
                LocalEventSourceMapping(**m) for m in document["event_source_mappings"]
            ),
        )


def create_topology(
    stack_resources: dict[str, Any],
    clients: AwsClients,
    *,
    name_prefix: str = "",
    visibility_timeout_s: int | None = None,
    function_timeout_s: float | None = None,
    stack_name: str = "local",
    datastore_ids: Sequence[str] | None = None,
) -> LocalTopology:
    """Creates every queue, table, bus and SQS-targeted rule of the stack in moto.

    `name_prefix` keeps topologies apart when they share one moto server.
    `visibility_timeout_s` (polled queues only) and `function_timeout_s` (every function) shorten
    the stack's minutes-long timings so a failed message reappears within a test; redrive
    policies, batch sizes and everything else stay as deployed. `datastore_ids` replaces the
    stage's configured data stores (in rule patterns and DATASTORE_IDS) with the emulator's, whose
    ids are random.
    """
    resources: dict[str, Any] = stack_resources["Resources"]
    values = TemplateValues(
        region=LOCAL_REGION,
        account_id=LOCAL_ACCOUNT_ID,
        stack_name=stack_name,
        parameters=stack_resources.get("Parameters", {}),
    )
    function_properties = {
        lid: r.get("Properties", {}) for lid, r in resources.items() if r["Type"] == FUNCTION_TYPE
    }
    if not function_properties:
        raise ValueError("the stack has no function for its event source mappings to invoke")
    stage_datastores = {d for p in function_properties.values() for d in _stage_datastore_ids(p)}
    local_datastores = tuple(datastore_ids) if datastore_ids is not None else None
    builder = MotoResourceBuilder(
        clients=clients,
        values=values,
        name_prefix=name_prefix,
        visibility_timeout_s=visibility_timeout_s,
        polled_queue_ids=frozenset(polled_queues(resources)),
        datastore_ids=dict.fromkeys(stage_datastores, local_datastores)
        if local_datastores is not None
        else {},
    )
    builder.create_all(resources)
    functions = {
        lid: _local_function(lid, properties, values, function_timeout_s, local_datastores)
        for lid, properties in function_properties.items()
    }
    for setting in {f.environment["CALLERS"] for f in functions.values() if "CALLERS" in f.environment}:
        if clients.iam is not None:
            create_caller_roles(clients.iam, setting)
    roles = RoleAssignment(resources, values, functions)
    queues = {
        roles.queue_role(lid): LocalQueue(role=roles.queue_role(lid), logical_id=lid, **asdict(q))
        for lid, q in builder.queues.items()
    }
    buses = {roles.bus_role(lid): str(values.resolve({"Ref": lid})) for lid in roles.ids(BUS_TYPE)}
    rules = {roles.rule_role(lid): str(values.resolve({"Ref": lid})) for lid in roles.ids(RULE_TYPE)}
    capture = capture_bus_events(clients, buses["outcome"], f"{name_prefix}outcome-capture")
    queues["outcome_capture"] = LocalQueue(
        role="outcome_capture",
        logical_id="LocalOutcomeCapture",
        name=capture.queue_name,
        url=capture.queue_url,
        arn=capture.queue_arn,
        fifo=False,
        visibility_timeout_s=30,
        max_receive_count=None,
        dead_letter_queue_arn=None,
    )
    rules["outcome_capture"] = capture.rule_name
    return LocalTopology(
        queues=queues,
        table_name=str(values.resolve({"Ref": roles.ids(TABLE_TYPE)[0]})),
        buses=buses,
        rules=rules,
        functions=functions,
        event_source_mappings=_event_source_mappings(resources, roles),
    )


def _local_function(
    logical_id: str,
    properties: dict[str, Any],
    values: TemplateValues,
    timeout_s: float | None,
    local_datastores: tuple[str, ...] | None,
) -> LocalFunction:
    environment = _resolved_environment(values, properties)
    if local_datastores is not None and "DATASTORE_IDS" in environment:
        environment["DATASTORE_IDS"] = ",".join(local_datastores)
    # Everything local lives in moto's account and region, and the local tools are a caller.
    if "CALLERS" in environment:
        environment["CALLERS"] = local_callers_setting(environment["CALLERS"])
    if "STAGE_ACCOUNT" in environment:
        environment["STAGE_ACCOUNT"], environment["STAGE_REGION"] = LOCAL_ACCOUNT_ID, LOCAL_REGION
    return LocalFunction(
        logical_id=logical_id,
        function_name=str(values.resolve({"Ref": logical_id})),
        handler=str(properties.get("Handler", "")),
        timeout_s=timeout_s or float(properties.get("Timeout", 3)),
        memory_mb=int(properties.get("MemorySize", 128)),
        environment=environment,
    )


def _event_source_mappings(
    resources: dict[str, Any], roles: RoleAssignment
) -> tuple[LocalEventSourceMapping, ...]:
    return tuple(
        LocalEventSourceMapping(
            queue_role=roles.queue_role(lid),
            function_id=roles.invoked_function(properties),
            batch_size=int(properties.get("BatchSize", 10)),
            maximum_batching_window_s=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
            maximum_concurrency=int(properties.get("ScalingConfig", {}).get("MaximumConcurrency", 2)),
            report_batch_item_failures="ReportBatchItemFailures"
            in properties.get("FunctionResponseTypes", []),
        )
        for lid, properties in polled_queues(resources).items()
    )


def _stage_datastore_ids(function_properties: dict[str, Any]) -> tuple[str, ...]:
    configured = function_properties.get("Environment", {}).get("Variables", {}).get("DATASTORE_IDS", "")
    return tuple(part for part in configured.split(",") if part) if isinstance(configured, str) else ()


def _resolved_environment(values: TemplateValues, function_properties: dict[str, Any]) -> dict[str, str]:
    environment: dict[str, str] = {}
    for name, value in function_properties.get("Environment", {}).get("Variables", {}).items():
        try:
            environment[name] = str(values.resolve(value))
        except UnresolvedValue:
            continue  # refers to something moto does not hold (e.g. a KMS key): irrelevant locally
    return environment
