"""Segments: the rule language (rules.py), their writes (services.py) and reads (selectors.py)."""
