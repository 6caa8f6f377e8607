"""Powertools' logger and metrics, shared by the three functions.

Tracing is Lambda's own (active tracing, set by the stack): every invocation is a segment in
X-Ray. The X-Ray SDK (Powertools' Tracer) is not loaded: its per-call subsegments cost about 190 ms
of every cold start, a third of a function's init, for detail the EMF metrics and the outcome's
timings already give.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

logger = Logger()
# The domain and the import reaction log through stdlib logging ("updater.*"): same JSON and level.
copy_config_to_registered_loggers(source_logger=logger, include={"updater"})
metrics = Metrics()
