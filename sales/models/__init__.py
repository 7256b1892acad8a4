"""Sales tables, as Django finds them (the app's `models` module). Each subdomain keeps
its own in its `models.py`:

- `sales.leads.models`: leads.
- `sales.pipeline.models`: pipelines and their stages, opportunities and their lines.
- `sales.pricing.models`: price lists and their items, discount limits per role.
- `sales.quotes.models`: quotes (versioned, with their e-mail delivery) and their lines.
- `sales.orders.models`: sales orders placed by accepting a quote, and their lines.
- `sales.forecast.models`: forecast snapshots published to the ERP, product affinities.
"""

from sales.forecast.models import *  # noqa: F403
from sales.leads.models import *  # noqa: F403
from sales.orders.models import *  # noqa: F403
from sales.pipeline.models import *  # noqa: F403
from sales.pricing.models import *  # noqa: F403
from sales.quotes.models import *  # noqa: F403
