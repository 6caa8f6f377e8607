"""Fixtures shared by integration modules that drive the updater's code directly on their own `stack`."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def runtime(stack: Any) -> Any:
    """What the handler builds at a cold start (`build_runtime` on settings, clients and metrics),
    built in this process from the environment the stack gives its function. The stack's own
    invocations run in execution environments; tests that reach into the updater's collaborators
    (a monkeypatched step, a botocore hook) need them here. The environment is this process's only
    while the runtime is built: settings and clients read it once, as at a cold start."""
    environment = stack.function_environment(stack.topology.function_of("ingest"))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        from updater.handler import PowertoolsMetricsSink, metrics  # noqa: PLC0415
        from updater.settings import UpdaterSettings  # noqa: PLC0415
        from updater.wiring import AwsClients, build_runtime  # noqa: PLC0415

        return build_runtime(UpdaterSettings(), AwsClients.from_environment(), PowertoolsMetricsSink(metrics))
