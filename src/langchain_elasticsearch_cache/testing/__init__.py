"""Helpers for tests and benchmarks: a real, throw-away Elasticsearch node without Docker.

Nothing here is imported by the library itself; see :mod:`.node`.
"""
