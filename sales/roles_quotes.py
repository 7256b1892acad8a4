"""What each role may do with price lists, discount limits and quotes; declared in
`SalesConfig.ready()`. Sales reps work on quotes of opportunities they or their team
own (the services apply `can_edit_owned`); sales managers work on everyone's and approve
discounts above the limits; Admins do both and configure prices and discount limits."""

from __future__ import annotations

from frontoffice.roles import Role

VIEW_QUOTES = [
    "sales.view_quote",
    "sales.view_quoteline",
    "sales.view_pricelist",
    "sales.view_pricelistitem",
    "sales.view_discountlimit",
]
WORK_QUOTES = ["sales.add_quote", "sales.change_quote"]
MANAGE_PRICES = [
    "sales.add_pricelist",
    "sales.change_pricelist",
    "sales.delete_pricelist",
    "sales.add_pricelistitem",
    "sales.change_pricelistitem",
    "sales.delete_pricelistitem",
    "sales.add_discountlimit",
    "sales.change_discountlimit",
    "sales.delete_discountlimit",
]
GRANTS = {
    Role.SALES: [*VIEW_QUOTES, *WORK_QUOTES],
    Role.SALES_MANAGER: [*VIEW_QUOTES, *WORK_QUOTES, "sales.approve_quote", "sales.change_any_quote"],
    Role.BACK_OFFICE: ["sales.view_quote", "sales.view_quoteline"],
    Role.ADMIN: [
        *VIEW_QUOTES,
        *WORK_QUOTES,
        *MANAGE_PRICES,
        "sales.approve_quote",
        "sales.change_any_quote",
    ],
}
