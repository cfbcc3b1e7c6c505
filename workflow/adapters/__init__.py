"""boto3 implementations of the ports in :mod:`workflow.ports`, each taking an injected client,
and the single table's keys and item layout (`items`)."""
