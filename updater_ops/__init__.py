"""Operator tools for a running updater, local or deployed: `python -m updater_ops --help`."""
