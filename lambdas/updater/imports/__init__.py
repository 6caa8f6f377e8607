"""Reacting to HealthImaging `Import Job Completed` events (issue 5).

event -> `events.parse_import_job_completed` -> `manifests.ImportManifestReader` (image sets, failed
files) -> `rules` + `corrections` -> `planner.plan_import_updates` (native UpdateRequest dicts) ->
`fanout.RequestFanout` (ingest queue). `reaction.react_to_import_completed` ties them together.
"""
