"""Adapters: one small class per outside system, each taking its boto3 client in the constructor."""
