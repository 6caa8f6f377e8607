"""UpdateService: validate, resolve, apply once, settle, and end every request in one terminal outcome.

Plain Python: it sees an UpdateRequest and adapters, never a Lambda event. What it returns tells the
handler whether the request is finished or must be handed back to its queue (to wait for a pacing
token, for a lease held elsewhere, for a settle that outlasts this invocation, or after a transient
error).
"""

from __future__ import annotations

from updater.adapters.healthimaging import HealthImagingGateway
from updater.adapters.ledger import LeaseHeld, Ledger, LedgerEntry, LedgerStatus
from updater.adapters.version_claims import VersionClaims
from updater.attempt import Attempt, Clock, ProcessResult, body_request_id
from updater.call_deadline import OutOfTime, calls_until
from updater.domain.errors import (
    ConflictError,
    FailureCode,
    PermanentServiceError,
    RetryableServiceError,
    ServiceError,
    ValidationFailure,
)
from updater.domain.image_set import ImageSetVersion
from updater.domain.outcome import OutcomeStatus, UpdateOutcome, scrub_message
from updater.domain.planning import UpdatePlan, plan_revert, plan_update
from updater.domain.request import UpdateRequest
from updater.domain.validation import validate_request
from updater.outcome_recorder import MetricsSink, OutcomeRecorder
from updater.settle import SettleEstimator, SettlePoller
from updater.turns import UpdateTurns
from updater.update_call import UpdateCall, VersionClaimed

MAX_CONFLICT_RETRIES = 4


class UpdateService:
    def __init__(
        self,
        *,
        gateway: HealthImagingGateway,
        ledger: Ledger,
        recorder: OutcomeRecorder,
        metrics: MetricsSink,
        clock: Clock,
        payload_limit_bytes: int,
        allowed_datastores: frozenset[str],
        time_reserve_s: float = 5.0,
        claims: VersionClaims,
        turns: UpdateTurns | None = None,
        estimator: SettleEstimator | None = None,
        max_abandoned: int = 5,
    ) -> None:
        self._gateway = gateway
        self._ledger = ledger
        self._recorder = recorder
        self._metrics = metrics
        self._clock = clock
        self._payload_limit = payload_limit_bytes
        self._allowed = allowed_datastores
        self._reserve_s = time_reserve_s
        self._estimator = estimator or SettleEstimator()
        self._max_abandoned = max_abandoned
        self._calls = UpdateCall(
            gateway=gateway,
            claims=claims,
            turns=turns,
            metrics=metrics,
            clock=clock,
            claim_margin_s=time_reserve_s + 1.0,
        )

    # -- entry points -------------------------------------------------------------------------
    def reject(
        self, body: str, failure: ValidationFailure, trigger: str, request_id: str | None
    ) -> ProcessResult:
        """A message that is not even a well-formed request: one terminal failure, keyed by content."""
        key = request_id or body_request_id(body)
        entry = self.claim(key, owner=key, lease_s=1.0)
        if isinstance(entry, ProcessResult):
            return entry
        try:
            if entry.terminal:
                return ProcessResult(self._recorder.replay(entry, body))
            outcome = UpdateOutcome(
                request_id=key,
                datastore_id="",
                image_set_id="",
                status=OutcomeStatus.FAILED,
                trigger=trigger,
                attempts=entry.attempts,
                polls=0,
                duration_ms=0,
                error_code=failure.code,
                error_message=failure.message,
            )
            return ProcessResult(self._recorder.finish(outcome, body))
        finally:
            self._ledger.release(key, key)

    def process(
        self,
        request: UpdateRequest,
        *,
        body: str,
        trigger: str,
        deadline_s: float,
        owner: str,
        internal: bool = False,
        members: tuple[str, ...] = (),
        inline_wait_s: float = 1.5,
    ) -> ProcessResult:
        """`inline_wait_s`: how long to wait here for a pacing slot; FIFO queues cannot delay a hand-back."""
        now = self._clock.now()
        if now >= deadline_s - self._reserve_s:
            # Later records of a batch may find the invocation's time used up by earlier ones: starting
            # anyway would overrun the timeout, and Lambda would fail (and redeliver) the whole batch.
            return ProcessResult(retry_after_s=0.0, waiting_for="time")
        entry = self.claim_request(request, owner=owner, lease_s=deadline_s - now + 1.0)
        if isinstance(entry, ProcessResult):
            return entry
        attempt = Attempt(request, body, trigger, now, deadline_s - self._reserve_s, entry, entry.polls)
        attempt.internal, attempt.members = internal, members
        attempt.inline_wait_s = inline_wait_s
        attempt.turn_at_s = None if entry.turn_at_ms is None else entry.turn_at_ms / 1000
        try:
            if entry.terminal:
                return ProcessResult(self._recorder.replay(entry, body, publish=not internal))
            if entry.abandoned >= self._max_abandoned:
                return self._give_up_dying(attempt)
            # Half the reserve for the request's calls; the other half releases its lease and hands it back.
            with calls_until(deadline_s - self._reserve_s / 2, self._clock.now):
                return self._advance(attempt)
        except OutOfTime:
            self._metrics.count("OutOfTime")
            return ProcessResult(retry_after_s=0.0, waiting_for="time")
        except PermanentServiceError as err:
            return self._fail(attempt, err.failure_code, scrub_message(err.message))
        except RetryableServiceError as err:
            self._metrics.count("Throttled" if err.aws_code == "ThrottlingException" else "TransientError")
            return ProcessResult(retry_after_s=2.0, waiting_for="transient")
        finally:
            self._ledger.add_polls(request.request_id, attempt.polls - entry.polls)
            self._ledger.release(request.request_id, owner)

    def give_up(
        self,
        request: UpdateRequest,
        *,
        body: str,
        trigger: str,
        owner: str,
        reason: str = "transient service errors on every delivery",
    ) -> ProcessResult:
        """The last delivery failed transiently too: end the request rather than let it slip into the DLQ."""
        now = self._clock.now()
        entry = self.claim_request(request, owner=owner, lease_s=5.0)
        if isinstance(entry, ProcessResult):
            return entry
        try:
            if entry.terminal:
                return ProcessResult(self._recorder.replay(entry, body))
            attempt = Attempt(request, body, trigger, now, now, entry, polls=entry.polls)
            return self._end_exhausted(attempt, reason)
        finally:
            self._ledger.release(request.request_id, owner)

    def _give_up_dying(self, attempt: Attempt) -> ProcessResult:
        """Invocations keep dying on this request (timeouts, crashes): end it with a reason rather
        than loop, or let SQS move it to the DLQ unexplained."""
        message = f"{attempt.entry.abandoned} invocations timed out or crashed while working on the request"
        return self._end_exhausted(attempt, message)

    def _end_exhausted(self, attempt: Attempt, reason: str) -> ProcessResult:
        """RETRIES_EXHAUSTED, unless the request's own call already made a version that has settled:
        then that is its outcome (a FAILED report for an applied change would be false)."""
        entry, request = attempt.entry, attempt.request
        attempt.from_version = entry.base_version_id
        created = entry.to_version_id
        if created is None and entry.base_version_id and self.may_have_called(request, entry):
            created = str(int(entry.base_version_id) + 1)
        if created is not None:
            try:
                version = self._gateway.get_image_set(request.datastore_id, request.image_set_id, created)
            except ServiceError:  # never created (the call did not land), or unreadable now
                version = None
            if version is not None and version.settled:
                if version.update_failed:
                    message = scrub_message(version.message or "update failed")
                    return self._fail(attempt, FailureCode.UPDATE_FAILED, message, to_version=created)
                return self._succeed(attempt, version, noop=False)
            created = entry.to_version_id  # named only when the ledger knows it was applied
        return self._fail(attempt, FailureCode.RETRIES_EXHAUSTED, reason, to_version=created)

    def may_have_called(self, request: UpdateRequest, entry: LedgerEntry) -> bool:
        """Whether an earlier delivery may already have made this request's update call."""
        return self._calls.may_have_called(request, entry)

    def claim_request(
        self, request: UpdateRequest, *, owner: str, lease_s: float
    ) -> LedgerEntry | ProcessResult:
        return self.claim(
            request.request_id,
            datastore_id=request.datastore_id,
            image_set_id=request.image_set_id,
            owner=owner,
            lease_s=lease_s,
        )

    def claim(
        self, key: str, *, owner: str, lease_s: float, datastore_id: str = "", image_set_id: str = ""
    ) -> LedgerEntry | ProcessResult:
        """The ledger entry with its lease taken, or a hand-back while another invocation holds it."""
        now = self._clock.now()
        try:
            return self._ledger.claim(
                key,
                datastore_id=datastore_id,
                image_set_id=image_set_id,
                owner=owner,
                now_ms=int(now * 1000),
                lease_ms=int(max(1.0, lease_s) * 1000),
            )
        except LeaseHeld as held:
            return ProcessResult(retry_after_s=max(1.0, held.until_ms / 1000 - now), waiting_for="lease")

    # -- the state machine ----------------------------------------------------------------------
    def _advance(self, attempt: Attempt) -> ProcessResult:
        request, entry = attempt.request, attempt.entry
        failures = validate_request(
            request, max_payload_bytes=self._payload_limit, allowed_datastores=self._allowed
        )
        if failures:
            return self._fail(attempt, failures[0].code, failures[0].message)
        if entry.status == LedgerStatus.APPLIED and entry.to_version_id:
            attempt.from_version = entry.base_version_id
            return self._settle(attempt, entry.to_version_id, (entry.applied_at_ms or 0) / 1000)
        if entry.status == LedgerStatus.APPLYING and entry.base_version_id:
            recovered = self._recover_applying(attempt, entry.base_version_id)
            if recovered is not None:
                return recovered
        return self._apply_with_conflict_retries(attempt)

    def _recover_applying(self, attempt: Attempt, base_version: str) -> ProcessResult | None:
        """A previous invocation stopped between 'about to call update' and 'recorded the new version'.

        If the image set did not move on, the call never took effect: apply normally. If it moved on,
        version base+1 is this request's exactly when this request (or the coalesced call carrying
        it) holds the claim on base: then it settles and reports that version, whatever it became.
        Otherwise base+1 is another request's, and the change is applied on top of it (a no-op if
        that version already holds it).
        """
        request = attempt.request
        latest = self._gateway.get_image_set(request.datastore_id, request.image_set_id)
        if latest.version_id == base_version:
            return None
        if not self._calls.made_by(request, attempt.entry, base_version):
            return None
        base = self._gateway.get_image_set(request.datastore_id, request.image_set_id, base_version)
        attempt.from_version, attempt.plan = base_version, self._plan(attempt, base)
        created = str(int(base_version) + 1)
        self._ledger.mark_applied(request.request_id, created, self._now_ms())
        return self._settle(attempt, created, self._clock.now())

    def _apply_with_conflict_retries(self, attempt: Attempt) -> ProcessResult:
        request = attempt.request
        for retry in range(MAX_CONFLICT_RETRIES + 1):
            if self._clock.now() >= attempt.deadline_s:  # conflict back-offs and waits used the budget
                return ProcessResult(retry_after_s=0.0, waiting_for="time")
            current = self._gateway.get_image_set(request.datastore_id, request.image_set_id)
            if request.expected_version_id and current.version_id != request.expected_version_id:
                return self._fail(
                    attempt, FailureCode.VERSION_CONFLICT, "image set moved on from the pinned version"
                )
            if not current.settled:  # someone else's update is running: wait for it, then rebase
                if self._settle_other(attempt, current) is None:
                    return ProcessResult(retry_after_s=5.0, waiting_for="settle")
                continue
            attempt.from_version = current.version_id
            plan = attempt.plan = self._plan(attempt, current)
            if plan.failures:
                failure = plan.failures[0]
                return self._fail(attempt, failure.code, failure.message)
            if plan.noop or request.dry_run:
                return self._succeed(attempt, current, noop=plan.noop)
            # Recorded before the token is taken: the call follows its token with no ledger write between.
            self._mark_applying(attempt, current.version_id)
            if (wait := self._calls.wait_for_turn(attempt)) > 0:
                self._metrics.observe("TokenWaitMs", wait * 1000, "Milliseconds")
                return ProcessResult(retry_after_s=wait, waiting_for="token")
            try:
                new = self._calls.call(attempt, current.version_id)
            except ConflictError as err:
                self._calls.spent_turn(attempt)
                if isinstance(err, VersionClaimed):  # back once the other request's call has moved on
                    return ProcessResult(retry_after_s=2.0, waiting_for="claim")
                self._metrics.count("ConflictRetried")
                if request.expected_version_id:
                    return self._fail(
                        attempt, FailureCode.VERSION_CONFLICT, "image set changed while updating"
                    )
                self._clock.sleep(min(2.0, 0.2 * 2**retry))
                continue
            return self._applied(attempt, current.version_id, new.version_id)
        return ProcessResult(retry_after_s=5.0, waiting_for="transient")

    def _applied(self, attempt: Attempt, base_version_id: str, new_version_id: str) -> ProcessResult:
        self._calls.spent_turn(attempt)
        self._ledger.mark_applied(attempt.request.request_id, new_version_id, self._now_ms())
        for member in attempt.members:
            self._ledger.mark_applied(member, new_version_id, self._now_ms(), base_version_id=base_version_id)
        return self._settle(attempt, new_version_id, self._clock.now())

    def _mark_applying(self, attempt: Attempt, base_version_id: str) -> None:
        self._ledger.mark_applying(attempt.request.request_id, base_version_id)
        for member in attempt.members:
            self._ledger.mark_applying(member, base_version_id, via=attempt.request.request_id)

    def _plan(self, attempt: Attempt, current: ImageSetVersion) -> UpdatePlan:
        request = attempt.request
        document = self._gateway.get_metadata(request.datastore_id, request.image_set_id, current.version_id)
        if request.revert_to_version_id is None:
            return plan_update(request, document)
        try:
            target = self._gateway.get_metadata(
                request.datastore_id, request.image_set_id, request.revert_to_version_id
            )
        except PermanentServiceError as err:
            if err.failure_code != FailureCode.IMAGE_SET_NOT_FOUND:
                raise
            raise PermanentServiceError(
                err.aws_code,
                "revertToVersionId names no version of this image set",
                FailureCode.REVERT_VERSION_NOT_FOUND,
            ) from err
        return plan_revert(document, target)

    def _settle_other(self, attempt: Attempt, current: ImageSetVersion) -> ImageSetVersion | None:
        request = attempt.request
        poller = self._poller(request, current.version_id)
        result = poller.wait(started_s=self._clock.now(), deadline_s=attempt.deadline_s)
        attempt.polls += result.polls
        return result.version

    def _settle(
        self,
        attempt: Attempt,
        version_id: str,
        applied_s: float,
    ) -> ProcessResult:
        request = attempt.request
        result = self._poller(request, version_id).wait(started_s=applied_s, deadline_s=attempt.deadline_s)
        attempt.polls += result.polls
        if result.version is None:
            return ProcessResult(retry_after_s=1.0, waiting_for="settle")
        attempt.notes["settle_ms"] = int((self._clock.now() - applied_s) * 1000)
        if result.version.update_failed:
            return self._fail(
                attempt,
                FailureCode.UPDATE_FAILED,
                scrub_message(result.version.message or "update failed"),
                to_version=version_id,
            )
        return self._succeed(attempt, result.version, noop=False)

    def _poller(self, request: UpdateRequest, version_id: str) -> SettlePoller:
        def read() -> ImageSetVersion:
            return self._gateway.get_image_set(request.datastore_id, request.image_set_id, version_id)

        return SettlePoller(read, now_s=self._clock.now, sleep=self._clock.sleep, estimator=self._estimator)

    # -- outcomes ---------------------------------------------------------------------------------
    def _succeed(self, attempt: Attempt, version: ImageSetVersion, *, noop: bool) -> ProcessResult:
        outcome = attempt.succeeded(version, noop=noop, now_s=self._clock.now())
        return ProcessResult(self._recorder.finish(outcome, attempt.body, publish=not attempt.internal))

    def _fail(
        self, attempt: Attempt, code: FailureCode, message: str, *, to_version: str | None = None
    ) -> ProcessResult:
        outcome = attempt.succeeded(None, noop=False, now_s=self._clock.now()).model_copy(
            update={
                "status": OutcomeStatus.FAILED,
                "error_code": code,
                "error_message": message,
                "to_version_id": to_version,
            }
        )
        return ProcessResult(self._recorder.finish(outcome, attempt.body, publish=not attempt.internal))

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)
