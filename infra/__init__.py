"""CDK app of the HealthImaging metadata updater: one construct per concern, composed by infra.stack."""
