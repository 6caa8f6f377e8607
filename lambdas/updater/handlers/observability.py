"""Powertools' logger, metrics and tracer, shared by the three functions, and the metrics port on EMF."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric

logger = Logger()
# The domain and the import reaction log through stdlib logging ("updater.*"): same JSON and level.
copy_config_to_registered_loggers(source_logger=logger, include={"updater"})
metrics = Metrics()
tracer = Tracer()


class PowertoolsMetricsSink:
    """The domain's MetricsSink: counters go in the invocation's EMF document; a count with a
    `reason` gets its own document, so its dimension does not split the invocation's other metrics."""

    def __init__(self, target: Metrics) -> None:
        self._metrics = target

    def count(self, name: str, value: float = 1, reason: str | None = None) -> None:
        if reason is None:
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
            return
        with single_metric(
            name=name, unit=MetricUnit.Count, value=value, namespace=self._metrics.namespace
        ) as one:
            one.add_dimension(name="reason", value=reason)

    def observe(self, name: str, value: float, unit: str) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)
