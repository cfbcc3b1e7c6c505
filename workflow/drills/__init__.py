"""Workloads run against the local stack: the demo, chaos, load, benchmarks and the cost model."""
