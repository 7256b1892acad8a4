"""`manage.py seed_sales_demo`: months of sales history on the demo customers (the
command lives with the rest of the demo, in `sales.demo.seed`)."""

from sales.demo.seed import Command

__all__ = ["Command"]
