"""Benchmarks of Frontoffice: `python -m bench` (or `make bench`).

Measures the demo seed (100,000 customers) and the latency of the customer list and
360 endpoints over the seeded database, and writes a markdown table to
bench/results/<name>.md. See bench/__main__.py for the method.
"""
