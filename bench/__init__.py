"""Benchmarks, run by hand: ``python -m bench.ledger_bench`` (see docs/benchmarks.md)."""
