"""Sales tables, one module per concern.

- `pipeline`: pipelines and their stages, leads, opportunities and their lines.
- `quotes`: price lists, discount limits per role, quotes (versioned) and their lines.
- `orders`: sales orders placed by accepting a quote, and their lines.
- `forecast`: forecast snapshots published to the ERP, product affinities.
"""

from sales.models.forecast import *  # noqa: F403
from sales.models.orders import *  # noqa: F403
from sales.models.pipeline import *  # noqa: F403
from sales.models.quotes import *  # noqa: F403
