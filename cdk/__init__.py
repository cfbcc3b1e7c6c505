"""The CDK app that deploys eventflow."""
