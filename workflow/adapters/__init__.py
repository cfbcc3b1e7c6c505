"""boto3 implementations of the ports in :mod:`workflow.ports`; each takes an injected client."""
