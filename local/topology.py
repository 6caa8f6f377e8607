"""Creates in moto the queues, table, buses and rules the CDK stack defines, from its own template.

The input is the stack's resources (`local.stack_template.load_stack_resources`), so a queue's
redrive policy, a rule's pattern or the function's environment cannot drift from what AWS gets.
Two local additions, both documented on `LocalTopology`: an `outcome_capture` queue that receives
every event of the outcome bus (so tests and the demo can read outcomes back), and an input
transformer on SQS rule targets that restores the `account` field moto's delivery drops.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from local.moto_stack import LOCAL_ACCOUNT_ID, LOCAL_REGION, AwsClients
from local.template_values import TemplateValues, UnresolvedValue
from local.topology_resources import (
    BUS_TYPE,
    FUNCTION_TYPE,
    MAPPING_TYPE,
    RULE_TYPE,
    TABLE_TYPE,
    CreatedQueue,
    MotoResourceBuilder,
    capture_bus_events,
)

IMPORT_EVENT_SOURCE = "aws.medical-imaging"
# Queue role of the delivery DLQ of each rule role's targets.
RULE_DLQ_ROLES = {"import_completed": "import_rule_dlq", "requests": "requests_rule_dlq"}


@dataclass(frozen=True)
class LocalQueue(CreatedQueue):
    """A queue created in moto, with the role it plays in the stack."""

    role: str
    logical_id: str


@dataclass(frozen=True)
class LocalEventSourceMapping:
    """How Lambda polls one queue (from the stack's AWS::Lambda::EventSourceMapping)."""

    queue_role: str
    batch_size: int
    maximum_batching_window_s: float
    maximum_concurrency: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class LocalFunction:
    function_name: str
    timeout_s: float
    memory_mb: int
    handler: str


@dataclass(frozen=True)
class LocalTopology:
    """What was created, by role: `ingest`, `ingest_dlq`, `fifo_ingest`, `fifo_ingest_dlq`,
    `import_rule_dlq`, `requests_rule_dlq`, `outcome_capture` for queues; `outcome`, `requests`
    for buses; `import_completed`, `requests`, `outcome_capture` for rules. Resources whose role
    cannot be told apart keep their CloudFormation logical id as role.
    """

    queues: dict[str, LocalQueue]
    table_name: str
    buses: dict[str, str]
    rules: dict[str, str]
    function: LocalFunction
    event_source_mappings: tuple[LocalEventSourceMapping, ...]
    # Exactly the function's environment in the stack, with local names and URLs filled in.
    updater_environment: dict[str, str] = field(default_factory=dict)

    def queue(self, role: str) -> LocalQueue:
        try:
            return self.queues[role]
        except KeyError:
            raise KeyError(f"no {role!r} queue; the topology has {sorted(self.queues)}") from None

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(self, default=lambda value: value.__dict__))  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> LocalTopology:
        return cls(
            queues={role: LocalQueue(**queue) for role, queue in document["queues"].items()},
            table_name=document["table_name"],
            buses=document["buses"],
            rules=document["rules"],
            function=LocalFunction(**document["function"]),
            event_source_mappings=tuple(
                LocalEventSourceMapping(**m) for m in document["event_source_mappings"]
            ),
            updater_environment=document["updater_environment"],
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

    `name_prefix` keeps topologies apart when they share one moto (its state is process-wide).
    `visibility_timeout_s` (polled queues only) and `function_timeout_s` shorten the stack's
    minutes-long timings so a failed message reappears within a test; redrive policies, batch
    sizes and everything else stay as deployed. `datastore_ids` replaces the stage's configured
    data stores (in rule patterns and DATASTORE_IDS) with the emulator's, whose ids are random.
    """
    resources: dict[str, Any] = stack_resources["Resources"]
    values = TemplateValues(
        region=LOCAL_REGION,
        account_id=LOCAL_ACCOUNT_ID,
        stack_name=stack_name,
        parameters=stack_resources.get("Parameters", {}),
    )
    function_id, function_properties = _the_function(resources)
    stage_datastores = _stage_datastore_ids(function_properties)
    local_datastores = tuple(datastore_ids) if datastore_ids is not None else None
    builder = MotoResourceBuilder(
        clients=clients,
        values=values,
        name_prefix=name_prefix,
        visibility_timeout_s=visibility_timeout_s,
        polled_queue_ids=frozenset(_polled_queues(resources)),
        datastore_ids=dict.fromkeys(stage_datastores, local_datastores)
        if local_datastores is not None
        else {},
    )
    builder.create_all(resources)
    environment = _resolved_environment(values, function_properties)
    if local_datastores is not None:
        environment["DATASTORE_IDS"] = ",".join(local_datastores)
    roles = _RoleAssignment(resources, values, builder.queues, environment)
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
        function=LocalFunction(
            function_name=str(values.resolve({"Ref": function_id})),
            timeout_s=function_timeout_s or float(function_properties.get("Timeout", 3)),
            memory_mb=int(function_properties.get("MemorySize", 128)),
            handler=str(function_properties.get("Handler", "")),
        ),
        event_source_mappings=tuple(roles.event_source_mappings()),
        updater_environment=environment,
    )


def _polled_queues(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Queue logical id -> properties of the event source mapping that polls it."""
    polled = {}
    for resource in resources.values():
        source = resource["Properties"].get("EventSourceArn", {}) if resource["Type"] == MAPPING_TYPE else {}
        if "Fn::GetAtt" in source:
            polled[source["Fn::GetAtt"][0]] = resource["Properties"]
    return polled


def _the_function(resources: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    functions = [(lid, r.get("Properties", {})) for lid, r in resources.items() if r["Type"] == FUNCTION_TYPE]
    if len(functions) != 1:
        raise ValueError(f"expected exactly one function polled by SQS, found {len(functions)}")
    return functions[0]


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


class _RoleAssignment:
    """Tells the stack's resources apart by what they do, not by their (CDK-generated) logical ids."""

    def __init__(
        self,
        resources: dict[str, Any],
        values: TemplateValues,
        queues: dict[str, CreatedQueue],
        environment: dict[str, str],
    ) -> None:
        self._resources = resources
        self._values = values
        self._queues = queues
        self._polled = _polled_queues(resources)
        self._outcome_bus = environment.get("OUTCOME_BUS_NAME")
        self._queue_roles = self._assign_queue_roles(environment)

    def ids(self, resource_type: str) -> list[str]:
        return [lid for lid, r in self._resources.items() if r["Type"] == resource_type]

    def queue_role(self, logical_id: str) -> str:
        return self._queue_roles.get(logical_id, logical_id)

    def bus_role(self, logical_id: str) -> str:
        if self._values.resolve({"Ref": logical_id}) == self._outcome_bus:
            return "outcome"
        targeted = {self._rule_bus(rule_id) for rule_id in self.ids(RULE_TYPE)}
        return "requests" if self._values.resolve({"Ref": logical_id}) in targeted else logical_id

    def rule_role(self, logical_id: str) -> str:
        bus = self._rule_bus(logical_id)
        if bus == "default":
            sources = self._resources[logical_id]["Properties"].get("EventPattern", {}).get("source", [])
            return "import_completed" if IMPORT_EVENT_SOURCE in sources else logical_id
        bus_ids = [b for b in self.ids(BUS_TYPE) if self._values.resolve({"Ref": b}) == bus]
        return "requests" if bus_ids and self.bus_role(bus_ids[0]) == "requests" else logical_id

    def _rule_bus(self, logical_id: str) -> str:
        return str(
            self._values.resolve(self._resources[logical_id]["Properties"].get("EventBusName", "default"))
        )

    def _assign_queue_roles(self, environment: dict[str, str]) -> dict[str, str]:
        by_url = {queue.url: lid for lid, queue in self._queues.items()}
        by_arn = {queue.arn: lid for lid, queue in self._queues.items()}
        roles: dict[str, str] = {}
        for lid in self._polled:
            roles[lid] = "fifo_ingest" if self._queues[lid].fifo else "ingest"
            dead_letter_arn = self._queues[lid].dead_letter_queue_arn
            if dead_letter_arn in by_arn:
                roles[by_arn[dead_letter_arn]] = f"{roles[lid]}_dlq"
        named = {"INGEST_QUEUE_URL": "ingest", "FAILURE_DLQ_URL": "ingest_dlq"}
        for variable, role in named.items():
            if environment.get(variable) in by_url:
                roles[by_url[environment[variable]]] = role
        for rule_id in self.ids(RULE_TYPE):
            for target in self._resources[rule_id]["Properties"].get("Targets", []):
                dead_letter = self._values.resolve(target.get("DeadLetterConfig", {})).get("Arn")
                if dead_letter in by_arn:
                    roles[by_arn[dead_letter]] = RULE_DLQ_ROLES.get(
                        self.rule_role(rule_id), f"{rule_id}_target_dlq"
                    )
        return roles

    def event_source_mappings(self) -> list[LocalEventSourceMapping]:
        return [
            LocalEventSourceMapping(
                queue_role=self.queue_role(lid),
                batch_size=int(properties.get("BatchSize", 10)),
                maximum_batching_window_s=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
                maximum_concurrency=int(properties.get("ScalingConfig", {}).get("MaximumConcurrency", 2)),
                report_batch_item_failures="ReportBatchItemFailures"
                in properties.get("FunctionResponseTypes", []),
            )
            for lid, properties in self._polled.items()
        ]
