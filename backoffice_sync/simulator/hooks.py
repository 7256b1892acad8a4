"""How the ERP simulator plugs into the project: its admin grants."""

from __future__ import annotations

from backoffice_sync.simulator.roles import GRANTS
from frontoffice.plugin import AppHooks

HOOKS = AppHooks(roles=GRANTS)
