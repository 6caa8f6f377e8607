"""A short, seeded chaos soak (`python -m local.chaos` scaled down): every invariant must hold."""

from __future__ import annotations

import pytest

from local.chaos import ChaosOptions, format_report, run_chaos
from local.chaos_faults import FaultRates

pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)  # the soak's own budget (7 min) plus collecting the evidence
def test_a_short_soak_with_faults_keeps_every_invariant() -> None:
    options = ChaosOptions(
        seed=3,
        requests=40,
        image_sets=5,
        # Cut-off batches come back only after the 35 s visibility timeout; a slow host (a bare Python
        # loop 2x slower than usual) needed more than 4 min to drain.
        minutes=7.0,
        send_over_s=4.0,
        # Room for a loaded CI host, where one HTTP round trip to moto can take seconds: invocations
        # that overrun fail whole batches into the redrive, which is what the soak checks, not load.
        function_timeout_s=30.0,
        visibility_timeout_s=35,
        time_reserve_ms=5000,  # the stack's default: it must cover one call with its SDK retries
        # Dense faults so a short run still meets every kind; bursts come often.
        rates=FaultRates(cut_off=0.12, lose_response=0.06, update_failure=0.08, burst_every_s=8.0),
        output_dir=None,
    )

    report = run_chaos(options)

    assert report.holds, format_report(report)
    assert report.faults["invocation_cut_off"] + report.faults["invocation_response_lost"] > 0
    assert report.faults["emulator_throttled_calls"] > 0
    assert any(code.startswith("FAILED/") for code in report.outcomes)
    assert report.workload.counts()["route:both_triggers"] > 0
