"""What `make bench` asks of the served app, and the hand-written SQL floor of each.

Built inside the bench process with Django loaded (production settings, the bench
database): the URLs of each scenario (random customers, names, e-mails and phones drawn
from the data with a fixed seed), the credentials (an API token, a session cookie), the
SQL query count of one request (Django's test client with a statement counter), and the
floor: the same rows fetched by one hand-written statement through psycopg.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

PAGE = 50


@dataclass
class Scenario:
    name: str
    what: str
    target_p95_ms: float
    paths: list[str]
    floor_sql: str
    floor_params: list[list[Any]]
    auth: str  # "token" or "session"
    max_ratio: float | None = None  # p50 over the floor's p50, where the issue sets one
    same_as: str | None = None  # a deep page: p50 within 20 % of this scenario's
    # The customer each request must find (its page linked in the answer), where one does.
    expected: list[int] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _random_paths(
    rng: random.Random, n: int, make: Callable[[], tuple[str, list[Any]]]
) -> tuple[list[str], list[list[Any]]]:
    paths, params = [], []
    for _ in range(n):
        path, args = make()
        paths.append(path)
        params.append(args)
    return paths, params


def build(*, requests: int, warm_up: int, seed: int) -> list[Scenario]:
    from django.db.models import Count

    from customers.models import Activity, Customer, DuplicatePair
    from customers.normalise import name_neighbour_keys
    from customers.selectors_duplicates import NEIGHBOURS
    from frontoffice.api import CursorPagination

    rng = random.Random(seed)
    n = requests + warm_up
    live = Customer.objects.filter(merged_into__isnull=True)
    top = live.order_by("-id").values_list("id", flat=True).first() or 0
    ids: list[int] = []
    while len(ids) < 2000:
        batch = list(
            live.filter(id__in=[rng.randint(1, top) for _ in range(500)]).values_list("id", flat=True)
        )
        ids += batch
    scenarios: list[Scenario] = []
    # The rows of the 360's answer (`selectors.customer_360`): the profile, its tags, contact
    # points, current consent per channel and purpose (with who recorded it), relations
    # both ways (with the other side's name), live subsidiaries and the timeline's first
    # page (one more row to know whether there is a next).
    view_sql = (
        "SELECT c.*,"
        " (SELECT json_agg(t.name ORDER BY t.name) FROM customers_tag t"
        " JOIN customers_customer_tags ct ON ct.tag_id = t.id WHERE ct.customer_id = c.id),"
        " (SELECT json_agg(cp) FROM customers_contactpoint cp WHERE cp.customer_id = c.id),"
        " (SELECT json_agg(e) FROM (SELECT DISTINCT ON (ce.channel, ce.purpose) ce.*, u.username,"
        " u.first_name, u.last_name FROM customers_consentevent ce LEFT JOIN frontoffice_user u"
        " ON u.id = ce.actor_id WHERE ce.customer_id = c.id"
        " ORDER BY ce.channel, ce.purpose, ce.occurred_at DESC, ce.id DESC) e),"
        " (SELECT json_agg(r) FROM (SELECT r.*, p.display_name AS person_name, o.display_name AS"
        " organisation_name FROM customers_relationship r JOIN customers_customer p ON p.id = r.person_id"
        " JOIN customers_customer o ON o.id = r.organisation_id"
        " WHERE r.person_id = c.id OR r.organisation_id = c.id ORDER BY r.id LIMIT 200) r),"
        " (SELECT json_agg(s) FROM (SELECT id, display_name FROM customers_customer"
        " WHERE parent_id = c.id AND merged_into_id IS NULL ORDER BY display_name, id LIMIT 50) s),"
        " (SELECT json_agg(a) FROM (SELECT * FROM customers_activity WHERE customer_id = c.id"
        " ORDER BY occurred_at DESC, id DESC LIMIT 51) a)"
        " FROM customers_customer c WHERE c.id = %s"
    )
    chosen = [rng.choice(ids) for _ in range(n)]
    scenarios.append(
        Scenario(
            "api_360",
            "GET /api/v1/customers/{id}/360/",
            50,
            [f"/api/v1/customers/{i}/360/" for i in chosen],
            view_sql,
            [[i] for i in chosen],
            "token",
            max_ratio=4,
        )
    )
    scenarios.append(
        Scenario(
            "page_360",
            "GET /customers/{id}/ (the 360 page)",
            50,
            [f"/customers/{i}/" for i in chosen],
            view_sql,
            [[i] for i in chosen],
            "session",
            max_ratio=4,
        )
    )
    htmx = {"HX-Request": "true"}
    kinds = dict(live.filter(id__in=set(chosen)).values_list("id", "kind"))
    keys = {
        pk: name_neighbour_keys(key)
        for pk, key in live.filter(id__in=set(chosen)).values_list("id", "name_key")
    }
    scenarios.append(
        Scenario(
            "duplicates_panel",
            "one customer's possible duplicates (GET /api/v1/customers/duplicates/?customer={id}: at most 20,"
            " what the 360 panel shows)",
            50,
            [f"/api/v1/customers/duplicates/?customer={i}" for i in chosen],
            # The name candidates (the costly part) as the app reads them: the windows of
            # the filed names on each side of the customer's own under each of its keys.
            "SELECT c.id, c.name_key FROM unnest(%s::text[], %s::text[]) AS k(key, value) CROSS JOIN LATERAL ("
            "(SELECT customer_id FROM customers_nameneighbour n WHERE n.kind = %s AND n.key = k.key AND n.value > k.value"
            " ORDER BY n.value LIMIT %s) UNION ALL"
            " (SELECT customer_id FROM customers_nameneighbour n WHERE n.kind = %s AND n.key = k.key AND n.value < k.value"
            " ORDER BY n.value DESC LIMIT %s) UNION ALL"
            " (SELECT customer_id FROM customers_nameneighbour n WHERE k.key = 'k' AND n.kind = %s AND n.key = 'k'"
            " AND n.value = k.value ORDER BY n.customer_id DESC LIMIT 21)) n"
            " JOIN customers_customer c ON c.id = n.customer_id WHERE c.merged_into_id IS NULL AND c.id <> %s",
            [
                [
                    [k for k, _ in keys[i]],
                    [v for _, v in keys[i]],
                    kinds[i],
                    NEIGHBOURS,
                    kinds[i],
                    NEIGHBOURS,
                    kinds[i],
                    i,
                ]
                for i in chosen
            ],
            "token",
        )
    )
    scenarios += customer_searches(rng, n)

    scenarios += _number_searches(rng, n, htmx)
    scenarios += _board(n)

    # The customer list with three filters: page 1, and a page deep in it.
    # One owned customer's filters, drawn from the seed alone (the same list every run on
    # the same data, whatever the scenarios before drew).
    owned = live.exclude(owner=None).order_by("id")
    owner_id, kind, stage = owned.values_list("owner_id", "kind", "lifecycle_stage")[
        random.Random(f"{seed}-list").randrange(owned.count())
    ]
    filters = {"kind": kind, "lifecycle_stage": stage, "owner": owner_id}
    filtered = live.filter(kind=kind, lifecycle_stage=stage, owner_id=owner_id).order_by("-created_at", "-id")
    matching = filtered.count()
    deep_row = filtered[max(0, min(matching - PAGE - 1, matching * 4 // 5))]
    cursor = CursorPagination._encode(
        deep_row, [Customer._meta.get_field("created_at"), Customer._meta.get_field("id")], reverse=False
    )
    # What a row shows beside the customer's columns: its tags and its primary e-mails
    # and phones (the API's CustomerSerializer, the page's row).
    row_facts = (
        " (SELECT json_agg(t.name ORDER BY t.name, t.id) FROM customers_customer_tags ct"
        " JOIN customers_tag t ON t.id = ct.tag_id WHERE ct.customer_id = c.id) AS tags,"
        " (SELECT json_agg(json_build_object('kind', cp.kind, 'value', cp.value) ORDER BY cp.kind, cp.id)"
        " FROM customers_contactpoint cp WHERE cp.customer_id = c.id AND cp.is_primary"
        " AND cp.kind <> 'address') AS contacts"
    )
    where = (
        " WHERE c.merged_into_id IS NULL AND c.kind = %s AND c.lifecycle_stage = %s AND c.owner_id = %s {}"
    )
    # Constant fragments; the values go as parameters.
    list_sql = f"SELECT c.*,{row_facts} FROM customers_customer c{where} ORDER BY c.created_at DESC, c.id DESC LIMIT 51"  # noqa: S608
    # The page also prints each owner's name and the number of matches (counted up to 1,001).
    page_sql = (
        f"SELECT c.*,{row_facts}, u.first_name, u.last_name, u.username,"  # noqa: S608
        " (SELECT count(*) FROM (SELECT 1 FROM customers_customer c"
        f"{where.format('')} LIMIT 1001) m) AS matches"
        f" FROM customers_customer c LEFT JOIN frontoffice_user u ON u.id = c.owner_id{where}"
        " ORDER BY c.created_at DESC, c.id DESC LIMIT 51"
    )
    base = [kind, stage, owner_id]
    deep = [*base, deep_row.created_at, deep_row.pk]
    first_api = f"/api/v1/customers/?{urlencode(filters)}"
    scenarios.append(
        Scenario(
            "api_list_p1",
            f"GET /api/v1/customers/ with 3 filters ({matching} rows), page 1",
            80,
            [first_api] * n,
            list_sql.format(""),
            [base] * n,
            "token",
            max_ratio=4,
        )
    )
    scenarios.append(
        Scenario(
            "api_list_deep",
            "the same, a page 4/5 into the list (cursor)",
            80,
            [f"{first_api}&{urlencode({'cursor': cursor})}"] * n,
            list_sql.format("AND (c.created_at, c.id) < (%s, %s)"),
            [deep] * n,
            "token",
            same_as="api_list_p1",
        )
    )
    first_page = f"/customers/?{urlencode(filters)}"
    scenarios.append(
        Scenario(
            "page_list_p1",
            "the customer list page with the same filters, page 1",
            80,
            [first_page] * n,
            page_sql.format(""),
            [base + base] * n,
            "session",
        )
    )
    scenarios.append(
        Scenario(
            "page_list_deep",
            "the same page, 4/5 into the list",
            80,
            [f"{first_page}&{urlencode({'cursor': cursor})}"] * n,
            page_sql.format("AND (c.created_at, c.id) < (%s, %s)"),
            [base + deep] * n,
            "session",
            same_as="page_list_p1",
        )
    )

    # Timelines: the customers with the most activities, page 1 and page 50.
    heavy = list(
        Activity.objects.values("customer_id")
        .order_by()
        .annotate(n=Count("id"))
        .filter(n__gte=PAGE * 50 + 1)
        .values_list("customer_id", flat=True)[:20]
    )
    timeline_sql = "SELECT * FROM customers_activity WHERE customer_id = %s {} ORDER BY occurred_at DESC, id DESC LIMIT 51"
    p1_paths, p1_params, p50_paths, p50_params = [], [], [], []
    occurred = Activity._meta.get_field("occurred_at")
    pk = Activity._meta.get_field("id")
    deep_rows = {
        c: Activity.objects.filter(customer_id=c).order_by("-occurred_at", "-id")[PAGE * 49 - 1]
        for c in heavy
    }
    for _ in range(n):
        c = rng.choice(heavy) if heavy else rng.choice(ids)
        p1_paths.append(f"/api/v1/customers/{c}/timeline/")
        p1_params.append([c])
        if heavy:
            row = deep_rows[c]
            p50_paths.append(
                f"/api/v1/customers/{c}/timeline/?{urlencode({'cursor': CursorPagination._encode(row, [occurred, pk], reverse=False)})}"
            )
            p50_params.append([c, row.occurred_at, row.pk])
    scenarios.append(
        Scenario(
            "timeline_p1",
            "GET /api/v1/customers/{id}/timeline/ (3,000 entries), page 1",
            50,
            p1_paths,
            timeline_sql.format(""),
            p1_params,
            "token",
        )
    )
    if heavy:
        scenarios.append(
            Scenario(
                "timeline_p50",
                "the same, page 50",
                50,
                p50_paths,
                timeline_sql.format("AND (occurred_at, id) < (%s, %s)"),
                p50_params,
                "token",
                same_as="timeline_p1",
            )
        )
    scenarios.append(
        Scenario(
            "activities_p1",
            "GET /api/v1/activities/ (newest across customers)",
            50,
            ["/api/v1/activities/"] * n,
            "SELECT * FROM customers_activity ORDER BY occurred_at DESC, id DESC LIMIT 51",
            [[]] * n,
            "token",
        )
    )
    week = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    scenarios.append(
        Scenario(
            "dashboard",
            "GET / (the dashboard, every app's cards)",
            80,
            ["/"] * n,
            "SELECT count(*) FROM customers_customer WHERE created_at >= %s",
            [[week]] * n,
            "session",
        )
    )
    # The whole base's pairs: the page holds as many as the base has (up to 100), so a
    # larger base gives a fuller page; the first 5 pairs are the same work at every size.
    pairs_sql = (
        "SELECT p.* FROM customers_duplicatepair p JOIN customers_customer a ON a.id = p.customer_a_id AND a.merged_into_id IS NULL"
        " JOIN customers_customer b ON b.id = p.customer_b_id AND b.merged_into_id IS NULL ORDER BY p.customer_a_id, p.customer_b_id LIMIT {}"
    )
    pairs = DuplicatePair.objects.filter(
        customer_a__merged_into__isnull=True, customer_b__merged_into__isnull=True
    ).count()
    for name, limit, what in (
        ("duplicates", 100, f"the whole base, {min(pairs, 100)} pairs"),
        ("duplicates_5", 5, f"the whole base's first {min(pairs, 5)} pairs"),
    ):
        scenarios.append(
            Scenario(
                name,
                f"GET /api/v1/customers/duplicates/{'' if limit == 100 else f'?limit={limit}'} ({what})",
                100,
                [f"/api/v1/customers/duplicates/{'' if limit == 100 else f'?limit={limit}'}"] * n,
                pairs_sql.format(limit),
                [[]] * n,
                "token",
            )
        )

    return scenarios


def _number_searches(rng: random.Random, n: int, htmx: dict[str, str]) -> list[Scenario]:
    """Search as you type by a record's number: an order's, a quote's, a case's number
    as typed up to its last digit but one (a prefix that finds up to ten records)."""
    from sales.models import Quote, SalesOrder
    from service.models import Case

    refs = {
        "order": list(
            SalesOrder.objects.exclude(order_ref="").order_by("?").values_list("order_ref", flat=True)[:500]
        ),
        "quote": list(
            Quote.objects.exclude(reference="").order_by("?").values_list("reference", flat=True)[:500]
        ),
        "case": [f"C-{pk:06d}" for pk in Case.objects.order_by("?").values_list("pk", flat=True)[:500]],
    }
    floors = {
        "order": "SELECT o.id, o.order_ref, c.display_name FROM sales_salesorder o"
        " JOIN customers_customer c ON c.id = o.customer_id"
        " WHERE o.order_ref >= %s AND o.order_ref < %s ORDER BY o.order_ref LIMIT 8",
        "quote": "SELECT q.id, q.reference, c.display_name FROM sales_quote q"
        " JOIN sales_opportunity o ON o.id = q.opportunity_id JOIN customers_customer c ON c.id = o.customer_id"
        " WHERE q.reference >= %s AND q.reference < %s ORDER BY q.reference, q.revision LIMIT 24",
        "case": "SELECT k.id, k.subject, c.display_name FROM service_case k"
        " JOIN customers_customer c ON c.id = k.customer_id"
        " WHERE k.id BETWEEN %s AND %s ORDER BY k.id LIMIT 8",
    }
    scenarios = []
    for kind, numbers in refs.items():
        if not numbers:
            continue

        def make(kind: str = kind, numbers: list[str] = numbers) -> tuple[str, list[Any]]:
            typed = rng.choice(numbers)[:-1]
            if kind == "case":
                digits = typed.split("-")[1]
                params: list[Any] = [int(digits) * 10, int(digits) * 10 + 9]
            else:
                params = [typed, typed[:-1] + chr(ord(typed[-1]) + 1)]
            return f"/search/?{urlencode({'q': typed})}", params

        paths, params = _random_paths(rng, n, make)
        scenarios.append(
            Scenario(
                f"search_{kind}_number",
                f'search as you type: {kind} number ("{numbers[0][:-1]}")',
                100,
                paths,
                floors[kind],
                params,
                "session",
                headers=htmx,
            )
        )
    return scenarios


def _board(n: int) -> list[Scenario]:
    """The pipeline board (the default pipeline, its 300 open opportunities as cards)."""
    from sales.models import Opportunity
    from sales.pipeline.services_pipelines import default_pipeline

    pipeline = default_pipeline()
    cards = Opportunity.objects.filter(pipeline=pipeline).count()
    return [
        Scenario(
            "pipeline_board",
            f"GET /sales/board/ (the pipeline board, {cards} cards)",
            150,
            ["/sales/board/"] * n,
            "SELECT o.id, o.name, o.amount, o.currency, o.expected_close_date, o.stage_id, c.display_name,"
            " u.username, u.first_name, u.last_name FROM sales_opportunity o"
            " JOIN customers_customer c ON c.id = o.customer_id LEFT JOIN frontoffice_user u ON u.id = o.owner_id"
            " WHERE o.pipeline_id = %s ORDER BY o.stage_id, o.expected_close_date, o.amount DESC, o.id LIMIT 700",
            [[pipeline.pk]] * n,
            "session",
        )
    ]


def customer_searches(rng: random.Random, n: int, vendor: str = "postgresql") -> list[Scenario]:
    """Search as you type for a customer: a 3-letter name prefix, an e-mail fragment, a
    phone fragment in another format than the stored one; floors for `vendor`."""
    from customers.models import ContactPoint, Customer

    live = Customer.objects.filter(merged_into__isnull=True)
    last_names = list(live.exclude(last_name="").order_by("?").values_list("last_name", flat=True)[:500])
    prefixes = [name[:3] for name in last_names if len(name) >= 3]
    emails = list(
        ContactPoint.objects.filter(kind="email", customer__merged_into__isnull=True)
        .order_by("?")
        .values_list("value", "customer_id")[:500]
    )
    phones = list(
        ContactPoint.objects.filter(kind="phone", customer__merged_into__isnull=True)
        .order_by("?")
        .values_list("value", "customer_id")[:500]
    )
    expected: dict[str, list[int]] = {"email": [], "phone": [], "phone_full": []}

    def email_fragment() -> str:
        """An address typed from its start, up to 3 letters of its domain."""
        value, customer = rng.choice(emails)
        expected["email"].append(customer)
        local, domain = value.split("@", 1)
        return f"{local}@{domain[:3]}"

    def phone_fragment() -> tuple[str, str]:
        value, customer = rng.choice(phones)
        expected["phone"].append(customer)
        digits = value.lstrip("+")
        start = rng.randint(2, max(2, len(digits) - 7))
        part = digits[start : start + 7]
        return f"{part[:3]} {part[3:]}", part

    scenarios: list[Scenario] = []
    search_sql = (
        "SELECT c.id, c.display_name FROM customers_customer c WHERE c.merged_into_id IS NULL AND {} "
        "ORDER BY c.display_name, c.id LIMIT 8"
    )
    name_sql = search_sql.format(
        "c.display_name ILIKE %s" if vendor == "postgresql" else "c.display_name LIKE %s"
    )
    contact_sql = search_sql.format(
        "c.id IN (SELECT customer_id FROM customers_contactpoint WHERE kind = %s AND value LIKE %s)"
    )
    # The addresses starting with the typed text: a range of the byte-ordered address
    # index, read in its order (customers.filters.email_matches).
    address = 'p.value COLLATE "C"' if vendor == "postgresql" else "p.value"
    email_sql = (
        "SELECT c.id, c.display_name FROM customers_contactpoint p JOIN customers_customer c ON c.id = p.customer_id"  # noqa: S608 - names only; values are parameters
        f" WHERE p.kind = 'email' AND {address} >= %s AND {address} < %s AND c.merged_into_id IS NULL"
        f" ORDER BY {address}, p.id LIMIT 8"
    )
    htmx = {"HX-Request": "true"}
    paths, params = _random_paths(
        rng, n, lambda: (lambda p: (f"/search/?{urlencode({'q': p})}", [f"%{p}%"]))(rng.choice(prefixes))
    )
    scenarios.append(
        Scenario(
            "search_name",
            "search as you type: 3-letter name prefix",
            100,
            paths,
            name_sql,
            params,
            "session",
            headers=htmx,
        )
    )
    paths, params = _random_paths(
        rng,
        n,
        lambda: (
            lambda p: (f"/search/?{urlencode({'q': p})}", [p.lower(), p.lower()[:-1] + chr(ord(p[-1]) + 1)])
        )(email_fragment()),
    )
    scenarios.append(
        Scenario(
            "search_email",
            'search as you type: an e-mail address from its start ("ada.lovelace@ex")',
            100,
            paths,
            email_sql,
            params,
            "session",
            headers=htmx,
            expected=expected["email"],
        )
    )
    paths, params = _random_paths(
        rng,
        n,
        lambda: (lambda p: (f"/search/?{urlencode({'q': p[0]})}", ["phone", f"%{p[1]}%"]))(phone_fragment()),
    )
    scenarios.append(
        Scenario(
            "search_phone",
            'search as you type: phone fragment ("123 4567")',
            100,
            paths,
            contact_sql,
            params,
            "session",
            headers=htmx,
            expected=expected["phone"],
        )
    )

    def full_phone() -> tuple[str, str]:
        value, customer = rng.choice(phones)
        expected["phone_full"].append(customer)
        return value, value

    paths, params = _random_paths(
        rng,
        n,
        lambda: (lambda p: (f"/search/?{urlencode({'q': p[0]})}", ["phone", p[1]]))(full_phone()),
    )
    scenarios.append(
        Scenario(
            "search_phone_full",
            "search as you type: a whole phone number (E.164)",
            100,
            paths,
            search_sql.format(
                "c.id IN (SELECT customer_id FROM customers_contactpoint WHERE kind = %s AND value = %s)"
            ),
            params,
            "session",
            headers=htmx,
            expected=expected["phone_full"],
        )
    )
    return scenarios
