"""EmfMetrics: the domain's MetricsSink on Powertools' EMF metrics (CloudWatch, from the log stream)."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric


class EmfMetrics:
    """Counters go in the invocation's EMF document; a count with a `reason` gets a document of its
    own, so its dimension does not split the invocation's other metrics."""

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
