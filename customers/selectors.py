"""Every non-trivial read of the customer profile, each with a fixed query count."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections, router
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.fields.tuple_lookups import TupleLessThan
from django.http import Http404
from django.urls import reverse
from django.utils import dateformat, timezone

from customers.choices import ContactKind
from customers.filters import CustomerFilter, email_address_order, email_matches, email_prefix
from customers.models import Activity, ConsentEvent, ContactPoint, Customer, Relationship, Tag
from customers.selectors_panels import PanelView, customer_panels
from customers.timeline_kinds import hidden_kinds, visible_to
from frontoffice.permissions import readable_grant
from frontoffice.prepared import prepared_rows_together, prepared_sql_rows
from frontoffice.write_path import as_id

TIMELINE_PAGE = 50
ACTIVITY_FIELDS = [f.name for f in Activity._meta.concrete_fields]
ACTOR_NAME_FIELDS = ("actor__username", "actor__first_name", "actor__last_name")
CONSENT_FIELDS = [f.name for f in ConsentEvent._meta.concrete_fields]
RELATIONSHIP_FIELDS = [f.name for f in Relationship._meta.concrete_fields]
RELATED_NAME_FIELDS = ("person__id", "person__display_name", "organisation__id", "organisation__display_name")


def customer_base_queryset() -> QuerySet[Customer]:
    return Customer.objects.filter(merged_into__isnull=True)


# What the list page shows of an owner (its name); not the rest of the user row.
OWNER_NAME_FIELDS = ("owner__username", "owner__first_name", "owner__last_name")
# What a row of the list page shows and sorts on (CUSTOMER_ORDERINGS), and nothing else.
LIST_PAGE_FIELDS = ("id", "kind", "display_name", "lifecycle_stage", "owner", "created_at", "updated_at")


def customer_list(*, filters: Any = None, actor: Any = None, for_page: bool = False) -> QuerySet[Customer]:
    """Live customers, filtered. The API names the owner by id, and reads a page's tags
    and primary contacts with `customer_row_facts` (2 queries per page). `for_page`: the
    list page's shape, the columns it shows and the owner's name joined (not the
    password hash and the rest of the user row), its tags and contacts then read by
    `customer_list_rows`."""
    queryset = customer_base_queryset()
    if for_page:
        queryset = queryset.select_related("owner").only(*LIST_PAGE_FIELDS, *OWNER_NAME_FIELDS)
    if not filters:
        # No filter: the queryset as it is (a FilterSet and its form cost about 1 ms to
        # build, and DRF's permission check asks the API's view for its queryset too).
        return queryset
    filtered: QuerySet[Customer] = CustomerFilter(filters, queryset=queryset).qs
    return filtered


@dataclass(frozen=True, slots=True)
class PrimaryContact:
    """A primary e-mail or phone as a customer's row shows it (what CustomerSerializer
    reads of a contact point)."""

    kind: str
    value: str


def _tags_and_primary_contacts(
    ids: Iterable[int],
) -> tuple[dict[int, list[str]], dict[int, list[PrimaryContact]]]:
    """Many customers' tag names (by name) and primary e-mails and phones (in
    ContactPoint's order), by customer id, as plain rows of one statement.

    Written as SQL, not as two querysets: building and compiling those took longer
    than running them (a page of the list API: about 1.2 ms of Python and two round
    trips, for under 1 ms of database time). Read where the ORM would read a customer
    (the router's choice: the primary after a write, else a replica). On PostgreSQL the
    ids go as one array, so that the statement is the same for every page and prepared
    once per connection: planning it took longer than running it (0.67 -> 0.26 ms for
    a page of 51 on the bench's base)."""
    ids = list(ids)
    tags: dict[int, list[str]] = {}
    contacts: dict[int, list[PrimaryContact]] = {}
    if not ids:
        return tags, contacts
    alias = router.db_for_read(Customer)
    args: list[Any]
    if connections[alias].vendor == "postgresql":
        sql, args = _ROW_FACTS_SQL.format(ids="= ANY(%s)"), [ids, ids, ContactKind.ADDRESS]
    else:
        sql = _ROW_FACTS_SQL.format(ids=f"IN ({', '.join(['%s'] * len(ids))})")
        args = [*ids, *ids, ContactKind.ADDRESS]
    for part, customer_id, first, second, _order in prepared_sql_rows(sql, args, using=alias):
        if part == 0:
            tags.setdefault(customer_id, []).append(first)
        else:
            contacts.setdefault(customer_id, []).append(PrimaryContact(first, second))
    return tags, contacts


def _row_facts_sql() -> str:
    """`_tags_and_primary_contacts`'s statement, from the models' own tables and
    columns: tags in name order, primary contacts in ContactPoint's (kind, then id:
    all are primary). `{ids}` stands for the test of the ids (`IN (...)`, `= ANY(...)`)."""
    through, tag, contact = Customer.tags.through._meta, Tag._meta, ContactPoint._meta
    q = connection.ops.quote_name
    through_customer = q(through.get_field("customer").column)
    through_tag = q(through.get_field("tag").column)
    return (
        f"SELECT 0, ct.{through_customer}, t.{q('name')}, NULL, t.{q('id')}"  # noqa: S608 - the models' names
        f" FROM {q(through.db_table)} ct JOIN {q(tag.db_table)} t ON t.{q('id')} = ct.{through_tag}"
        f" WHERE ct.{through_customer} {{ids}}"
        f" UNION ALL SELECT 1, cp.{q('customer_id')}, cp.{q('kind')}, cp.{q('value')}, cp.{q('id')}"
        f" FROM {q(contact.db_table)} cp"
        f" WHERE cp.{q('customer_id')} {{ids}} AND cp.{q('is_primary')} AND cp.{q('kind')} <> %s"
        " ORDER BY 1, 3, 5"
    )


_ROW_FACTS_SQL = _row_facts_sql()


def customer_row_facts(customers: Sequence[Customer]) -> Sequence[Customer]:
    """What CustomerSerializer reads beside a customer's own columns, for many customers
    in 1 query: `tag_names` (by name) and `primary_contacts` (the primary e-mails and
    phones as `PrimaryContact`s, in ContactPoint's order), set on each instance. Plain
    rows, not Django's prefetch caches: those point back at the customer (a reference
    cycle per customer and contact point), so a page of rows outlived its request until
    a full garbage collection, which then took 100-500 ms of a later request; and not
    model instances (a page's hundred contact points were a tenth of the request)."""
    tags, contacts = _tags_and_primary_contacts(c.pk for c in customers)
    for c in customers:
        c.tag_names = tags.get(c.pk, [])  # type: ignore[attr-defined]
        c.primary_contacts = contacts.get(c.pk, [])  # type: ignore[attr-defined]
    return customers


def customer_list_rows(customers: Sequence[Customer]) -> list[dict[str, Any]]:
    """The list page's rows (customers from `customer_list(for_page=True)`), ready to
    print: plain values, the tags' names and the primary e-mail and phone read as
    values in 1 query (no model instances), dates in the current time zone."""
    tags, contacts = _tags_and_primary_contacts(c.pk for c in customers)
    # A customer's URL is the same but for its id: resolved once per call, not per row.
    head, tail = reverse("customers:detail", args=[_URL_MARK]).split(str(_URL_MARK))
    day_text = _DayText()
    rows = []
    for c in customers:
        created, updated = timezone.localtime(c.created_at), timezone.localtime(c.updated_at)
        rows.append(
            {
                "pk": c.pk,
                "url": f"{head}{c.pk}{tail}",
                "display_name": c.display_name,
                "kind_label": c.get_kind_display(),
                "lifecycle_stage": c.lifecycle_stage,
                "stage_label": c.get_lifecycle_stage_display(),
                "owner": str(c.owner) if c.owner_id is not None else None,
                "tags": tags.get(c.pk, []),
                "contacts": [contact.value for contact in contacts.get(c.pk, ())],
                "created_iso": created.isoformat(),
                "created_text": day_text(created),
                "updated_iso": updated.isoformat(),
                "updated_text": day_text(updated),
            }
        )
    return rows


_URL_MARK = 987654321  # an id that stands for every row's in the reversed URL


class _DayText(dict[int, str]):
    """`dateformat.format(moment, "j M Y")` ("6 Dec 2026": the day, the month's short
    name in the active language, the year on 4 digits), the month's name looked up once
    per month instead of the whole format read again for every date."""

    def __call__(self, moment: dt.datetime) -> str:
        month = self.get(moment.month)
        if month is None:
            month = self[moment.month] = dateformat.format(moment, "M")
        return f"{moment.day} {month} {moment.year:04d}"


def customer_get(*, customer_id: Any) -> Customer:
    """One customer, tombstones included (callers redirect those to the survivor)."""
    try:
        return Customer.objects.select_related("owner", "parent", "merged_into").get(pk=int(customer_id))
    except (Customer.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such customer.") from None


def consent_state(*, customer: Customer) -> list[ConsentEvent]:
    """The latest ledger entry per (channel, purpose): the current consent."""
    return list(_consent_state_of(customer.pk))


def _consent_state_of(customer_id: int) -> QuerySet[ConsentEvent]:
    latest = (
        ConsentEvent.objects.filter(
            customer_id=OuterRef("customer_id"), channel=OuterRef("channel"), purpose=OuterRef("purpose")
        )
        .order_by("-occurred_at", "-id")
        .values("pk")[:1]
    )
    return (
        ConsentEvent.objects.filter(customer_id=customer_id, pk=Subquery(latest))
        .select_related("actor")
        # Who recorded it is shown by name: not the password hash and the rest of the user row.
        .only(*CONSENT_FIELDS, *ACTOR_NAME_FIELDS)
        .order_by("channel", "purpose")
    )


def has_consent(*, customer: Customer, channel: str, purpose: str) -> bool:
    last = (
        ConsentEvent.objects.filter(customer=customer, channel=channel, purpose=purpose)
        .order_by("-occurred_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    return bool(last)


# --- timeline -------------------------------------------------------------------


def encode_cursor(activity: Activity) -> str:
    raw = f"{activity.occurred_at.isoformat()}|{activity.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    if not cursor:
        return None
    try:
        occurred, pk = base64.urlsafe_b64decode(cursor.encode()[:200]).decode().split("|")
        moment = dt.datetime.fromisoformat(occurred)
        if moment.tzinfo is None:
            return None
        return moment, int(pk)
    except (ValueError, binascii.Error, UnicodeError):
        return None


def _timeline_query(customer_id: int, actor: Any, kind: str | None) -> QuerySet[Activity]:
    """One customer's entries that `actor` may see, of `kind` or all, newest first."""
    queryset = visible_to(
        actor,
        Activity.objects.filter(customer_id=customer_id)
        .select_related("actor")
        # Who acted is shown by name: not the password hash and the rest of the user row.
        .only(*ACTIVITY_FIELDS, *ACTOR_NAME_FIELDS),
    )
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.order_by("-occurred_at", "-id")


def timeline_page(
    *,
    customer: Customer,
    actor: Any,
    cursor: str | None = None,
    limit: int = TIMELINE_PAGE,
    kind: str | None = None,
) -> tuple[list[Activity], str | None]:
    """Newest first, keyset-paginated on (occurred_at, id), of one `kind` or all, the
    entries `actor` may see: one query per page."""
    queryset = _timeline_query(customer.pk, actor, kind)
    position = decode_cursor(cursor)
    if position is not None:
        moment, pk = position
        # A row comparison, which PostgreSQL seeks in the (customer, occurred_at, id) index.
        queryset = queryset.filter(TupleLessThan((F("occurred_at"), F("id")), (moment, pk)))
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1]) if more and rows else None)


# --- the 360 view ------------------------------------------------------------------
# The reads of one customer's 360 view, by its id: each makes the same SQL for every
# customer (what `prepared_rows` needs).


def _tags_of(customer_id: int) -> QuerySet[Tag]:
    return Tag.objects.filter(customers__id=customer_id)


def _contact_points_of(customer_id: int) -> QuerySet[ContactPoint]:
    return ContactPoint.objects.filter(customer_id=customer_id)


def _relations_of(customer_id: int) -> QuerySet[Relationship]:
    # The other side of a relation is shown by name and linked: its id and name, not its row.
    return (
        Relationship.objects.filter(Q(person_id=customer_id) | Q(organisation_id=customer_id))
        .select_related("person", "organisation")
        .only(*RELATIONSHIP_FIELDS, *RELATED_NAME_FIELDS)
        .order_by("id")[:200]
    )


def _subsidiaries_of(customer_id: int) -> QuerySet[Customer]:
    # Shown by name and linked, as the other side of a relation.
    return (
        Customer.objects.filter(parent_id=customer_id, merged_into__isnull=True)
        .only("id", "display_name", "parent")
        .order_by("display_name", "id")[:50]
    )


def _first_timeline_read(
    customer_id: int, actor: Any, kind: str | None
) -> tuple[Hashable, Callable[..., QuerySet[Activity]], tuple[Any, ...]]:
    """`timeline_page` without a cursor, as a `prepared_rows` call (one more row than a
    page, to know whether there is a next): its statement differs between readers only
    by what they may see (the key), and between customers and kinds by its values."""
    kind = kind or None  # "" is every kind, as in `timeline_page`
    key = ("timeline", kind is not None, tuple(hidden_kinds(actor)), readable_grant(actor))

    def build(customer_id: int, *kind_value: str) -> QuerySet[Activity]:
        return _timeline_query(customer_id, actor, kind_value[0] if kind_value else None)[: TIMELINE_PAGE + 1]

    return key, build, (customer_id, *([kind] if kind is not None else []))


def _first_timeline_page(rows: list[Activity]) -> tuple[list[Activity], str | None]:
    more = len(rows) > TIMELINE_PAGE
    rows = rows[:TIMELINE_PAGE]
    return rows, (encode_cursor(rows[-1]) if more and rows else None)


@dataclass
class Customer360:
    customer: Customer
    tags: list[Tag]
    contact_points: list[ContactPoint]
    consents: list[ConsentEvent]
    memberships: list[Relationship]
    members: list[Relationship]
    subsidiaries: list[Customer]
    timeline: list[Activity]
    timeline_cursor: str | None
    panels: list[PanelView] = field(default_factory=list)
    history: list[Any] | None = None


def _customer_row_of(customer_id: int) -> QuerySet[Customer]:
    # The owner is shown by name (and decides who may edit: its team), the parent and
    # the survivor of a merge by name and link: not the rest of their rows (the owner's
    # password hash least of all).
    return (
        Customer.objects.select_related("owner", "parent", "merged_into")
        .only(
            *(field.name for field in Customer._meta.concrete_fields),
            *(f"owner__{name}" for name in ("username", "first_name", "last_name", "team")),
            "parent__display_name",
            "merged_into__display_name",
        )
        .filter(pk=customer_id)
    )


def customer_360(
    *,
    customer_id: Any,
    actor: Any,
    check: Callable[[Customer], None] | None = None,
    load_panels: Iterable[str] = (),
    timeline_kind: str | None = None,
    load_history: bool = True,
) -> Customer360:
    """Everything the 360 page and endpoint show, in a bounded number of queries
    whatever the data: customer (tombstones included: callers redirect those), tags,
    contact points, consent, relations (one query both ways), subsidiaries, 50 timeline
    entries (of `timeline_kind`, or all), audit (unless `load_history` is False: the API
    does not return it), and the panels the actor may see, of which only those named in
    `load_panels` are loaded (each within its own query budget; a bad name is a
    ValidationError). A missing customer is a 404; `check(customer)` runs before the
    audit and the panels are read, and may refuse the customer by raising."""
    pk = as_id(customer_id)
    if pk is None:
        raise Http404("No such customer.")
    # The rows that hang off the customer need its id only: they are read with it, each
    # by a statement compiled once per process and sent together (one round trip on
    # PostgreSQL; `prepared_rows_together`). Tags as a plain query (not the prefetch
    # machinery): the API's CustomerSerializer reads their names from the view.
    found, tags, contact_points, consents, relations, subsidiaries, first_rows = prepared_rows_together(
        (_customer_row_of, _customer_row_of, (pk,)),
        (_tags_of, _tags_of, (pk,)),
        (_contact_points_of, _contact_points_of, (pk,)),
        (_consent_state_of, _consent_state_of, (pk,)),
        (_relations_of, _relations_of, (pk,)),
        (_subsidiaries_of, _subsidiaries_of, (pk,)),
        _first_timeline_read(pk, actor, timeline_kind),
    )
    if not found:
        raise Http404("No such customer.")
    customer = found[0]
    if check is not None:
        check(customer)
    timeline, cursor = _first_timeline_page(first_rows)
    history = None
    if load_history and actor.has_perm("customers.view_customer_history"):
        record_fields = [f.name for f in customer.history.model._meta.concrete_fields]
        history = list(
            customer.history.select_related("history_user")
            # Who changed it is shown by name: not the password hash and the rest of the user row.
            .only(
                *record_fields,
                "history_user__username",
                "history_user__first_name",
                "history_user__last_name",
            )
            .order_by("-history_date")[:20]
        )
    # Every panel the actor may see, listed; only those named in `load_panels` loaded
    # (each runs its own queries: the page loads each in a request of its own).
    panels = customer_panels(customer=customer, actor=actor, load=load_panels)
    return Customer360(
        customer=customer,
        tags=tags,
        contact_points=contact_points,
        consents=consents,
        memberships=[r for r in relations if r.person_id == customer.pk],
        members=[r for r in relations if r.organisation_id == customer.pk],
        subsidiaries=subsidiaries,
        timeline=timeline,
        timeline_cursor=cursor,
        panels=panels,
        history=history,
    )


def global_search(*, q: str, limit: int = 8) -> list[Customer]:
    """The search box: live customers by name, e-mail or phone, best names first (an
    e-mail address typed from its start: in the order of the addresses)."""
    q = (q or "").strip()
    if len(q) < 2:
        return []
    # What a hit shows (name, kind, primary e-mail and phone), in 2 queries: no tags,
    # no owner, not the rest of the rows.
    queryset = (
        customer_base_queryset()
        .only("id", "kind", "display_name")
        .prefetch_related(
            Prefetch(
                "contact_points",
                queryset=ContactPoint.objects.filter(is_primary=True)
                .exclude(kind=ContactKind.ADDRESS)
                .only("id", "customer_id", "kind", "value"),
                to_attr="primary_contacts",
            )
        )
    )
    prefix = email_prefix(q)
    if prefix is not None:
        return _by_address(queryset, prefix, limit)
    found: QuerySet[Customer] = CustomerFilter({"q": q}, queryset=queryset).qs
    return list(found.order_by("display_name", "id")[:limit])


def _by_address(queryset: QuerySet[Customer], prefix: str, limit: int) -> list[Customer]:
    """The customers whose e-mail starts with `prefix`, in the order of the addresses
    (the index's), reading no further than the first few: as fast with a million
    customers as with a thousand. A customer with several such addresses is listed once."""
    addresses = (
        email_matches(prefix)
        .filter(customer__merged_into__isnull=True)
        .order_by(email_address_order(), "id")
        .values_list("customer_id", flat=True)
    )
    ids = list(dict.fromkeys(addresses[: limit * 4]))[:limit]
    found = queryset.order_by().in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


# --- pages: dashboard and audit history ------------------------------------------


@dataclass
class DashboardSummary:
    live_customers: int
    created_this_week: int
    week_start: dt.datetime
    recent_activities: list[Activity]
    live_customers_estimated: bool = False


# From this many rows on, PostgreSQL's own row estimate stands in for counting every
# customer on each visit of the dashboard (147 ms at a million customers).
ESTIMATE_FROM = 50_000


def _estimated_live_customers() -> int | None:
    """The planner's row estimate (kept by ANALYZE and autovacuum) less the tombstones
    (few, and counted through the `merged_into` index), or None below ESTIMATE_FROM and
    on databases without an estimate."""
    if connection.vendor != "postgresql":
        return None
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint, (SELECT count(*) FROM "  # noqa: S608 - the model's own table name
            + connection.ops.quote_name(table)
            + " WHERE merged_into_id IS NOT NULL) FROM pg_class WHERE oid = %s::regclass",
            [table],
        )
        row = cursor.fetchone()
    if row is None or row[0] < ESTIMATE_FROM:
        return None
    return max(0, int(row[0]) - int(row[1]))


def dashboard_summary(*, actor: Any, now: dt.datetime | None = None, limit: int = 10) -> DashboardSummary:
    """The landing page's numbers: 2 or 3 queries whatever the size of the base (a
    large base's live count is PostgreSQL's estimate, shown as such)."""
    from django.utils import timezone

    local = timezone.localtime(now or timezone.now())
    # "This week" starts on Monday at midnight in the site's time zone.
    week_start = (local - dt.timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    estimate = _estimated_live_customers()
    if estimate is None:
        counts = customer_base_queryset().aggregate(
            live=Count("id"), this_week=Count("id", filter=Q(created_at__gte=week_start))
        )
    else:
        # A week's new customers, through the created_at index.
        counts = {
            "live": estimate,
            "this_week": customer_base_queryset().filter(created_at__gte=week_start).count(),
        }
    recent = list(
        Activity.objects.filter(actor_id=actor.pk)
        .select_related("customer")
        .order_by("-occurred_at", "-id")[:limit]
    )
    return DashboardSummary(
        live_customers=counts["live"],
        created_this_week=counts["this_week"],
        week_start=week_start,
        recent_activities=recent,
        live_customers_estimated=estimate is not None,
    )
