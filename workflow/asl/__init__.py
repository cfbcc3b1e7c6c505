"""Amazon States Language read as data: the IAM a definition needs, histories, coverage, diagrams."""
