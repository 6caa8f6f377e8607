"""Roles of the stack's queues, buses and rules, and which function each event source mapping invokes.

Roles are what the local stack, its tests and the soak address resources by (`ingest`,
`fifo_ingest_dlq`, `outcome`, ...), whatever logical ids CDK generated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from local.stack_template import referenced_logical_id
from local.template_values import TemplateValues, UnresolvedValue
from local.topology_resources import BUS_TYPE, MAPPING_TYPE, QUEUE_TYPE, RULE_TYPE

if TYPE_CHECKING:
    from local.topology import LocalFunction

IMPORT_EVENT_SOURCE = "aws.medical-imaging"


def polled_queues(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Queue logical id -> properties of the event source mapping that polls it."""
    polled = {}
    for resource in resources.values():
        source = resource["Properties"].get("EventSourceArn", {}) if resource["Type"] == MAPPING_TYPE else {}
        if "Fn::GetAtt" in source:
            polled[source["Fn::GetAtt"][0]] = resource["Properties"]
    return polled


def queue_roles(resources: dict[str, Any], values: TemplateValues) -> dict[str, str]:
    """Queue logical id -> role, from the names the stack gives its queues (`<service>-<stage>-<role>`,
    the names other services address them by), so that any number of queues and functions get
    roles without rules about which function polls what."""
    names: dict[str, str] = {}
    for logical_id, resource in resources.items():
        given = resource.get("Properties", {}).get("QueueName") if resource["Type"] == QUEUE_TYPE else None
        try:
            name = values.resolve(given) if given is not None else None
        except UnresolvedValue:
            name = None
        if isinstance(name, str) and name:
            names[logical_id] = name
    prefix = _shared_name_prefix(list(names.values()))
    roles = {lid: _role_from_name(name[len(prefix) :]) for lid, name in names.items()}
    unnamed = [lid for lid, r in resources.items() if r["Type"] == QUEUE_TYPE and lid not in names]
    return roles | {lid: lid for lid in unnamed}


def _shared_name_prefix(names: list[str]) -> str:
    """The `-`-separated words every name starts with (the `<service>-<stage>-` part), never the
    whole of a name."""
    if len(names) < 2:
        return ""
    words = [name.split("-") for name in names]
    shared: list[str] = []
    for column in zip(*(w[:-1] for w in words), strict=False):
        if len(set(column)) != 1:
            break
        shared.append(column[0])
    return "".join(f"{word}-" for word in shared)


def _role_from_name(name: str) -> str:
    base = name.removesuffix(".fifo").replace("-", "_")
    return f"fifo_{base}" if name.endswith(".fifo") else base


class RoleAssignment:
    """Tells buses and rules apart by what they do, not by their (CDK-generated) logical ids."""

    def __init__(
        self, resources: dict[str, Any], values: TemplateValues, functions: dict[str, LocalFunction]
    ) -> None:
        self._resources = resources
        self._values = values
        self._functions = functions
        self._polled = polled_queues(resources)
        self._outcome_buses = {f.environment.get("OUTCOME_BUS_NAME") for f in functions.values()} - {None}
        self._queue_roles = queue_roles(resources, values)

    def ids(self, resource_type: str) -> list[str]:
        return [lid for lid, r in self._resources.items() if r["Type"] == resource_type]

    def queue_role(self, logical_id: str) -> str:
        return self._queue_roles.get(logical_id, logical_id)

    def bus_role(self, logical_id: str) -> str:
        if self._values.resolve({"Ref": logical_id}) in self._outcome_buses:
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

    def invoked_function(self, mapping: dict[str, Any]) -> str:
        reference = referenced_logical_id(mapping.get("FunctionName"))
        if reference in self._functions:
            return reference
        named = [
            f.logical_id for f in self._functions.values() if f.function_name == mapping.get("FunctionName")
        ]
        if not named:
            raise ValueError(
                f"an event source mapping invokes {mapping.get('FunctionName')!r}, not in the stack"
            )
        return named[0]
