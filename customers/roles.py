"""What each role may do with the customer profile; declared in `CustomersConfig.ready()`."""

from __future__ import annotations

from frontoffice.roles import Role

VIEW_PROFILE = [
    "customers.view_customer",
    "customers.view_contactpoint",
    "customers.view_consentevent",
    "customers.view_activity",
    "customers.view_relationship",
    "customers.view_tag",
    "customers.view_customfielddefinition",
]
WORK_PROFILE = [
    "customers.add_customer",
    "customers.change_customer",
    "customers.add_contactpoint",
    "customers.change_contactpoint",
    "customers.delete_contactpoint",
    "customers.add_consentevent",
    "customers.add_activity",
    "customers.add_relationship",
    "customers.change_relationship",
    "customers.add_tag",
]
# The outbound-message room: who reads the log, who writes to customers, who writes templates.
VIEW_MESSAGES = ["customers.view_outboundmessage", "customers.view_messagetemplate"]
SEND_MESSAGES = [*VIEW_MESSAGES, "customers.add_outboundmessage"]
WRITE_TEMPLATES = ["customers.add_messagetemplate", "customers.change_messagetemplate"]
# Creating customers by the thousand from a CSV file: marketing and the managers, not each rep.
IMPORT = ["customers.import_customers"]

GRANTS = {
    Role.MARKETING: [
        *VIEW_PROFILE,
        *WORK_PROFILE,
        *SEND_MESSAGES,
        *WRITE_TEMPLATES,
        *IMPORT,
        "customers.change_outboundmessage",
        "customers.change_any_customer",
        "customers.change_tag",
    ],
    # Sales edits only what they or their team own: no change_any_customer.
    Role.SALES: [*VIEW_PROFILE, *WORK_PROFILE, *VIEW_MESSAGES],
    # Sales managers: "reps edit their own and their team's; managers all".
    Role.SALES_MANAGER: [
        *VIEW_PROFILE,
        *WORK_PROFILE,
        *VIEW_MESSAGES,
        *IMPORT,
        "customers.change_any_customer",
    ],
    Role.SERVICE_AGENT: [*VIEW_PROFILE, *WORK_PROFILE, *SEND_MESSAGES, "customers.change_any_customer"],
    Role.SERVICE_SUPERVISOR: [
        *VIEW_PROFILE,
        *WORK_PROFILE,
        *SEND_MESSAGES,
        *WRITE_TEMPLATES,
        *IMPORT,
        "customers.change_any_customer",
        "customers.merge_customer",
    ],
    Role.BACK_OFFICE: [
        "customers.view_customer",
        "customers.view_contactpoint",
        "customers.view_activity",
        *VIEW_MESSAGES,
    ],
    Role.ADMIN: [
        *VIEW_PROFILE,
        *WORK_PROFILE,
        *SEND_MESSAGES,
        *WRITE_TEMPLATES,
        *IMPORT,
        "customers.change_outboundmessage",
        "customers.delete_messagetemplate",
        "customers.change_any_customer",
        "customers.merge_customer",
        "customers.view_customer_history",
        "customers.delete_customer",
        "customers.change_tag",
        "customers.delete_tag",
        "customers.add_customfielddefinition",
        "customers.change_customfielddefinition",
        "customers.delete_customfielddefinition",
    ],
}
