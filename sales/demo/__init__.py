"""The demo's sales history (`manage.py seed_sales_demo`, run by `make run`): planned
from a seed, then played through the services and the ERP simulator."""
