"""Sales tables, one module per concern.

- `pipeline`: pipelines and their stages, leads, opportunities and their lines.
- `quotes`: price lists, discount limits per role, quotes (versioned) and their lines.
"""

from sales.models.pipeline import *  # noqa: F403
from sales.models.quotes import *  # noqa: F403
