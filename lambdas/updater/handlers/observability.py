"""Powertools' logger, metrics and tracer, shared by the three functions."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

logger = Logger()
# The domain and the import reaction log through stdlib logging ("updater.*"): same JSON and level.
copy_config_to_registered_loggers(source_logger=logger, include={"updater"})
metrics = Metrics()
tracer = Tracer()
