"""Attribution and ROI: which campaigns earned revenue (selectors.py)."""
