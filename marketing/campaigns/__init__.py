"""Campaigns: configuration and states (services.py), the launch snapshot (launch.py),
sending (sending.py), responses (responses.py) and reads (selectors.py)."""
