"""Who may look at the ERP simulator in the admin; declared in its hooks.py.

Admins read the simulated ERP's tables and turn the fault knobs (demos, chaos drills);
nobody edits the ERP's tables by hand, since the engine writes them with their events.
"""

from __future__ import annotations

from frontoffice.roles import Role

_TABLES = (
    "simstate",
    "simevent",
    "simdelivery",
    "simproduct",
    "simstock",
    "simincoming",
    "simcustomer",
    "simorder",
    "simorderline",
    "simshipment",
    "siminvoice",
    "simpayment",
    "simcreditnote",
    "simfaults",
)

GRANTS = {
    Role.ADMIN: [*(f"erp_simulator.view_{table}" for table in _TABLES), "erp_simulator.change_simfaults"],
}
