"""Resolves CloudFormation intrinsic functions against resources created locally.

Only what CDK emits for queues, tables, buses, rules and a function's environment is supported;
anything else (a KMS key that moto does not get, a cross-stack import) raises `UnresolvedValue` and
the caller decides whether the property matters locally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


class UnresolvedValue(LookupError):
    """The value refers to something the local stack does not create."""


class TemplateValues:
    """Physical values (`Ref` and attributes) of the resources created so far, by logical id."""

    def __init__(
        self, *, region: str, account_id: str, stack_name: str, parameters: Mapping[str, Any]
    ) -> None:
        self._pseudo_parameters: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": stack_name,
            "AWS::NoValue": None,
        } | {name: p.get("Default") for name, p in parameters.items()}
        self._attributes: dict[str, dict[str, Any]] = {}

    def define(self, logical_id: str, ref: Any, **attributes: Any) -> None:
        self._attributes[logical_id] = {"Ref": ref, **attributes}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._intrinsic(key, argument)
        return {key: self.resolve(item) for key, item in value.items()}

    def _intrinsic(self, function: str, argument: Any) -> Any:
        if function == "Ref":
            return self._lookup(str(argument), "Ref")
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self._lookup(logical_id, attribute)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(part) for part in self.resolve(parts))
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if function == "Fn::Split":
            separator, text = argument
            return str(self.resolve(text)).split(separator)
        if function == "Fn::Sub":
            return self._substitute(argument)
        raise UnresolvedValue(f"{function} is not resolved locally")

    def _substitute(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        resolved = {name: self.resolve(value) for name, value in variables.items()}

        def replacement(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in resolved:
                return str(resolved[name])
            logical_id, _, attribute = name.partition(".")
            return str(self._lookup(logical_id, attribute or "Ref"))

        return _SUB_VARIABLE.sub(replacement, text)

    def _lookup(self, logical_id: str, attribute: str) -> Any:
        if attribute == "Ref" and logical_id in self._pseudo_parameters:
            return self._pseudo_parameters[logical_id]
        try:
            return self._attributes[logical_id][attribute]
        except KeyError:
            raise UnresolvedValue(f"{logical_id}.{attribute} is not created locally") from None
