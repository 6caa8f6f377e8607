"""What AWS tells a consumer about where a message came from, which moto leaves out.

* SQS `SenderId`: AWS gives the sending principal's unique id (a user's AIDA..., a role
  session's AROA...:<session name>). moto gives every message the same constant. Here a message
  sent through SQS's API carries the id of the credentials that signed the request, as moto's own
  STS `GetCallerIdentity` would name them (a role assumed through moto's STS, a user created in
  moto's IAM, or moto's default identity for any other key, such as the local `testing` key).
  Messages that EventBridge delivers keep moto's constant: AWS documents no SenderId for them.
* EventBridge input transformers: AWS fills in the predefined `<aws.events.rule-arn>` and
  `<aws.events.rule-name>`, and a `$` path or `<aws.events.event.json>` is the event as rules
  see it (ISO time, no internal fields). moto knows neither variable and hands its internal event
  (epoch time, an `ingestion-time` field) to paths. The updater's rules stamp deliveries with
  their ARN; without this the local stack would deliver the literal placeholder.

moto runs in its own process; `local.moto_stack.DEFAULT_PATCHES` has that process call `install()`.
"""

from __future__ import annotations

import contextvars
import datetime
import functools
import json
from typing import Any

import jsonpath_ng.ext
from jsonpath_ng.ext.parser import parse as jsonpath
from moto.events import models as events_models
from moto.events import utils as events_utils
from moto.sqs import models as sqs_models
from moto.sqs import responses as sqs_responses
from moto.sts.models import sts_backends

_sender: contextvars.ContextVar[str | None] = contextvars.ContextVar("sqs_sender", default=None)
_rule: contextvars.ContextVar[Any] = contextvars.ContextVar("events_rule", default=None)
_installed = False


def _caller_id(response: Any) -> str:
    backend = sts_backends[response.current_account]["global"]
    user_id, _arn, _account = backend.get_caller_identity(response.get_access_key(), response.region)
    return str(user_id)


def _with_sender(method: Any) -> Any:
    def send(self: Any) -> Any:
        token = _sender.set(_caller_id(self))
        try:
            return method(self)
        finally:
            _sender.reset(token)

    return send


def _message_init(original: Any) -> Any:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        sender = _sender.get()
        if sender is not None:
            self.sender_id = sender

    return init


def _as_rules_see_it(event: dict[str, Any]) -> dict[str, Any]:
    shown = {key: value for key, value in event.items() if key != "ingestion-time"}
    when = shown.get("time")
    if isinstance(when, (int, float)) or (isinstance(when, str) and when.replace(".", "", 1).isdigit()):
        moment = datetime.datetime.fromtimestamp(float(when), tz=datetime.UTC)
        shown["time"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return shown


def _parse(original: Any) -> Any:
    def parse(input_template: str, input_paths_map: dict[str, Any], event: Any) -> dict[str, Any]:
        template = input_template or ""
        rule = _rule.get()
        if rule is not None:
            template = template.replace("<aws.events.rule-arn>", rule.arn)
            template = template.replace("<aws.events.rule-name>", rule.name)
        paths = input_paths_map or {}
        if "$" not in paths.values() and "<aws.events.event.json>" not in template:
            # moto's own templates (epoch time, fixed up when it sends) stay moto's.
            return dict(original(template or input_template, input_paths_map, event))
        shown = _as_rules_see_it(event)
        for name, path in paths.items():
            matches = _compiled(path).find(shown)
            if matches:
                template = template.replace(f"<{name}>", _stringify(matches[0].value))
        template = template.replace("<aws.events.event.json>", json.dumps(shown))
        ingested = event.get("ingestion-time", "")
        template = template.replace("<aws.events.event.ingestion-time>", str(ingested))
        return dict(json.loads(template))

    return parse


@functools.lru_cache(maxsize=256)
def _compiled(path: str, debug: bool | None = None) -> Any:
    """An input path, parsed once: jsonpath_ng builds a new parser (its LR tables) for every
    `parse`, which was a quarter of moto's CPU in the bench (each event to each target, in our
    templates and in moto's own, which import `jsonpath_ng.ext.parse` at each call). The parsed
    path is only read (`find`), so one object serves every caller."""
    return jsonpath(path, debug)


def _stringify(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _send_to_targets(original: Any) -> Any:
    def send(self: Any, original_event: Any, transform_input: bool = True) -> None:
        token = _rule.set(self)
        try:
            original(self, original_event, transform_input)
        finally:
            _rule.reset(token)

    return send


def install() -> None:
    global _installed  # noqa: PLW0603  # once per process
    if _installed:
        return
    _installed = True
    responses = sqs_responses.SQSResponse
    responses.send_message = _with_sender(responses.send_message)  # type: ignore[method-assign]
    responses.send_message_batch = _with_sender(responses.send_message_batch)  # type: ignore[method-assign]
    sqs_models.Message.__init__ = _message_init(sqs_models.Message.__init__)  # type: ignore[method-assign]
    jsonpath_ng.ext.parse = _compiled  # moto's template parser looks it up at each call
    parser = events_utils.EventTemplateParser
    parser.parse = staticmethod(_parse(parser.parse))  # type: ignore[method-assign]
    rule = events_models.Rule
    rule.send_to_targets = _send_to_targets(rule.send_to_targets)  # type: ignore[method-assign]
