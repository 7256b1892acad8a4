"""Back-office sync tables, one module per concern.

- `outbox`: messages to the ERP, committed with the business change.
- `circuit`: the breaker that pauses sending while the ERP is unavailable.
- `inbox`: events from the ERP, stored first, applied once; the pull cursor.
- `mirrors`: what the front office knows of the back office (products, stock,
  orders' ERP status, shipments, invoices, payments, balances).
"""

from backoffice_sync.models.circuit import *  # noqa: F403
from backoffice_sync.models.inbox import *  # noqa: F403
from backoffice_sync.models.mirrors import *  # noqa: F403
from backoffice_sync.models.outbox import *  # noqa: F403
from backoffice_sync.models.reconciliation import *  # noqa: F403
