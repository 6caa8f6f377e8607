"""Alarms, the alarm topic and the updater dashboard.

The updater's own metrics are Powertools EMF metrics in the configured namespace with the single
dimension `service` (Powertools' default), so the names here must match what the handlers emit.

What pages someone: a message in a queue that means something was lost (the finalizer's DLQs, the
rule targets' delivery DLQs), a raw dead letter the finalizer does not explain (a redrive DLQ it
does not drain), a backlog that stops moving, failing or throttled invocations, a defect of the
updater (`InternalError`, from any function), an import whose reaction failed or whose job did not
complete. Explained failures are outcomes, not losses: they are a rate (the `UpdateFailed` alarm,
the failure-rate and by-reason widgets), never a queue-depth alarm that nobody can clear, so a
flood of rejected input cannot hide a real dead letter.
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

COUNT_METRICS = ("Succeeded", "UpdateFailed", "NoOp", "ConflictRetried", "Throttled", "Duplicate")
LANE_METRICS = ("Forwarded", "Waits", "TransientError", "InternalError", "LaneExhausted", "IntakeExhausted")
# Input the updater refused or had nothing to do with (rejections are in the by-reason widget).
INPUT_METRICS = ("RequestIdReused", "UnanswerableRecords", "IntakeRetried", "NoticeIgnored")
IMPORT_METRICS = ("ImportFailed", "ImportJobNotCompleted")
# A redrive DLQ is drained by the finalizer within seconds; a message older than this means it is not.
REDRIVE_STUCK_SECONDS = 900
QUOTA_METRICS = ("UpdateCalls", "CallsSavedByCoalescing")
LATENCY_METRICS = ("PollsPerUpdate", "TimeToSettleMs", "TokenWaitMs")
AT_OR_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


@dataclass(frozen=True)
class MonitoredResources:
    functions: Sequence[lambda_.IFunction]
    ingest_queues: Sequence[sqs.IQueue]  # the ingest queues and the lane: backlogs
    redrive_queues: Sequence[sqs.IQueue]  # what the finalizer drains
    lost_queues: Sequence[sqs.IQueue]  # any message here was lost: page


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

    def by_reason(self, name: str) -> cloudwatch.MathExpression:
        """Every `reason` of a metric counted with one (EMF documents of their own)."""
        return cloudwatch.MathExpression(
            expression=(
                f"SEARCH('{{{self.namespace},reason,service}} MetricName=\"{name}\"', 'Sum', "
                f"{int(self.period.to_seconds())})"
            ),
            label=f"{name} by reason",
            period=self.period,
        )

    def failure_rate(self) -> cloudwatch.MathExpression:
        """Failed outcomes as a percentage of all outcomes."""
        return cloudwatch.MathExpression(
            expression="100 * failed / MAX([failed + succeeded, 1])",
            using_metrics={
                "failed": self.updater_metric("UpdateFailed"),
                "succeeded": self.updater_metric("Succeeded"),
            },
            label="Failed outcomes (%)",
            period=self.period,
        )

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
                f"Lost{queue.node.id}",
                queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=self.period),
                threshold=0,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"{queue.node.id} holds messages: a request or event was not ended or delivered",
                evaluation_periods=1,
            )
            for queue in resources.lost_queues
        ]
        alarms += [
            self._alarm(
                f"NotFinalized{queue.node.id}",
                queue.metric_approximate_age_of_oldest_message(statistic="Maximum", period=self.period),
                threshold=REDRIVE_STUCK_SECONDS,
                description=f"{queue.node.id} is not being drained by the finalize function",
                evaluation_periods=1,
            )
            for queue in resources.redrive_queues
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
        for function in resources.functions:
            name = function.node.scope.node.id if function.node.scope is not None else function.node.id
            alarms += [
                self._alarm(
                    f"LambdaErrors{name}",
                    function.metric_errors(period=self.period, statistic="Sum"),
                    threshold=thresholds.lambda_errors,
                    description=f"{name} invocations failed (whole batches returned to their queue)",
                    evaluation_periods=periods,
                ),
                self._alarm(
                    f"LambdaThrottles{name}",
                    function.metric_throttles(period=self.period, statistic="Sum"),
                    threshold=thresholds.lambda_throttles,
                    description=f"{name} invocations throttled: reserved concurrency below demand",
                    evaluation_periods=periods,
                ),
            ]
        alarms += [
            self._alarm(
                "UpdateFailed",
                self.updater_metric("UpdateFailed"),
                threshold=thresholds.update_failed,
                description="Update requests reached a Failed outcome (the failures queue holds them)",
                evaluation_periods=periods,
            ),
            self._alarm(
                "InternalError",
                self.updater_metric("InternalError"),
                threshold=1,
                description=(
                    "A defect of the updater in intake, apply or finalize (the record retries; "
                    "the finalizer explains it when its deliveries run out)"
                ),
                evaluation_periods=periods,
            ),
            self._alarm(
                "ImportFailed",
                self.updater_metric("ImportFailed"),
                threshold=1,
                description="An import reaction failed (ImportJob.ReactionFailed, and its failure record)",
                evaluation_periods=1,
            ),
            self._alarm(
                "ImportJobNotCompleted",
                self.updater_metric("ImportJobNotCompleted"),
                threshold=1,
                description="A HealthImaging import job ended without completing (nothing was reacted to)",
                evaluation_periods=1,
            ),
        ]
        return alarms

    def _dashboard(self, name: str, resources: MonitoredResources) -> cloudwatch.Dashboard:
        def graph(title: str, metrics: Sequence[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=list(metrics), width=12)

        functions = resources.functions
        queues = [*resources.ingest_queues, *resources.redrive_queues, *resources.lost_queues]
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
                [
                    m
                    for f in functions
                    for m in (f.metric_invocations(), f.metric_errors(), f.metric_throttles())
                ],
            ),
            graph(
                "Queue depth",
                [q.metric_approximate_number_of_messages_visible(statistic="Maximum") for q in queues],
            ),
        )
        dashboard.add_widgets(
            graph("Intake and lane", [self.updater_metric(m) for m in LANE_METRICS]),
            graph("Failed outcomes by reason", [self.by_reason("FailedByReason")]),
        )
        dashboard.add_widgets(
            graph("Explained failure rate", [self.failure_rate()]),
            graph(
                "Refused and ignored input, imports",
                [
                    *(self.updater_metric(m) for m in (*INPUT_METRICS, *IMPORT_METRICS)),
                    self.by_reason("Ignored"),
                ],
            ),
        )
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24))
        return dashboard
