"""Alarms, the alarm topic and the updater dashboard.

The updater's own metrics are Powertools EMF metrics in the configured namespace with the single
dimension `service` (Powertools' default), so the names here must match what the handler emits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import AlarmThresholds

COUNT_METRICS = ("Succeeded", "UpdateFailed", "NoOp", "ConflictRetried", "Throttled")
QUOTA_METRICS = ("UpdateCalls", "CallsSavedByCoalescing")
LATENCY_METRICS = ("PollsPerUpdate", "TimeToSettleMs", "TokenWaitMs")
AT_OR_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


@dataclass(frozen=True)
class MonitoredResources:
    function: lambda_.IFunction
    ingest_queues: Sequence[sqs.IQueue]
    dead_letter_queues: Sequence[sqs.IQueue]


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_name: str,
        dashboard_name: str,
        namespace: str,
        service_name: str,
        thresholds: AlarmThresholds,
        key: kms.IKey,
        resources: MonitoredResources,
    ) -> None:
        super().__init__(scope, construct_id)
        self.namespace = namespace
        self.service_name = service_name
        self.period = Duration.seconds(thresholds.period_seconds)
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=topic_name,
            display_name="HealthImaging metadata updater alarms",
            master_key=key,
            enforce_ssl=True,
        )
        self.alarms = self._alarms(thresholds, resources)
        alarm_action = actions.SnsAction(self.topic)
        for alarm in self.alarms:
            alarm.add_alarm_action(alarm_action)
        self.dashboard = self._dashboard(dashboard_name, resources)

    def updater_metric(self, name: str, statistic: str = "Sum") -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=name,
            dimensions_map={"service": self.service_name},
            statistic=statistic,
            period=self.period,
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int,
        comparison: cloudwatch.ComparisonOperator = AT_OR_ABOVE,
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            alarm_description=description,
            # No datapoints means no traffic, which is healthy for every alarm here.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _alarms(self, thresholds: AlarmThresholds, resources: MonitoredResources) -> list[cloudwatch.Alarm]:
        periods = thresholds.evaluation_periods
        alarms = [
            self._alarm(
                f"DlqNotEmpty{queue.node.id}",
                queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=self.period),
                threshold=0,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"Dead-letter queue {queue.node.id} holds messages: requests or events were lost",
                evaluation_periods=1,
            )
            for queue in resources.dead_letter_queues
        ]
        alarms += [
            self._alarm(
                f"BacklogAge{queue.node.id}",
                queue.metric_approximate_age_of_oldest_message(statistic="Maximum", period=self.period),
                threshold=thresholds.oldest_message_age_seconds,
                description=f"Oldest message on {queue.node.id} is older than the configured age",
                evaluation_periods=periods,
            )
            for queue in resources.ingest_queues
        ]
        function = resources.function
        alarms += [
            self._alarm(
                "LambdaErrors",
                function.metric_errors(period=self.period, statistic="Sum"),
                threshold=thresholds.lambda_errors,
                description="Updater invocations failed (whole batches returned to the queue)",
                evaluation_periods=periods,
            ),
            self._alarm(
                "LambdaThrottles",
                function.metric_throttles(period=self.period, statistic="Sum"),
                threshold=thresholds.lambda_throttles,
                description="Updater invocations throttled: reserved concurrency below the pollers' demand",
                evaluation_periods=periods,
            ),
            self._alarm(
                "UpdateFailed",
                self.updater_metric("UpdateFailed"),
                threshold=thresholds.update_failed,
                description="Update requests reached a Failed outcome",
                evaluation_periods=periods,
            ),
        ]
        return alarms

    def _dashboard(self, name: str, resources: MonitoredResources) -> cloudwatch.Dashboard:
        def graph(title: str, metrics: Sequence[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=list(metrics), width=12)

        function = resources.function
        queues = [*resources.ingest_queues, *resources.dead_letter_queues]
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=name)
        dashboard.add_widgets(
            graph("Outcomes", [self.updater_metric(m) for m in COUNT_METRICS]),
            graph("Update quota use", [self.updater_metric(m) for m in QUOTA_METRICS]),
        )
        dashboard.add_widgets(
            graph(
                "Settling and pacing (average)", [self.updater_metric(m, "Average") for m in LATENCY_METRICS]
            ),
            graph("Settling and pacing (p90)", [self.updater_metric(m, "p90") for m in LATENCY_METRICS]),
        )
        dashboard.add_widgets(
            graph(
                "Lambda",
                [function.metric_invocations(), function.metric_errors(), function.metric_throttles()],
            ),
            graph(
                "Queue depth",
                [q.metric_approximate_number_of_messages_visible(statistic="Maximum") for q in queues],
            ),
        )
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24))
        return dashboard
