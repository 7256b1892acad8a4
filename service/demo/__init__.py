"""The service desk's demo data."""
