"""The segment rule language: JSON in, one Django `Q` out (one SQL query, no Python loop
over customers).

    {"all": [                                  # AND; "any": OR; {"not": node}: NOT
        {"field": "lifecycle_stage", "op": "eq", "value": "customer"},
        {"field": "tag", "op": "has_any", "value": ["vip", "partner"]},
        {"any": [
            {"field": "attr.industry", "op": "eq", "value": "retail"},
            {"field": "lifetime_order_value", "op": "gt", "value": 1000},
        ]},
        {"not": {"field": "consent.email.marketing", "op": "eq", "value": "withdrawn"}},
        {"field": "ordered_product", "op": "within_days", "value": {"sku": "CHAIR-01", "days": 90}},
    ]}

`compile_rules(rules)` validates and compiles; a bad rule raises one ValidationError whose
keys are the paths of the faults (`rules.all.2.any.0.op`), so the builder and the API
point at the rule to fix. The fields, their types and operators are `catalogue()`.

Facts other apps know about customers come through the kernel's hook
(`frontoffice.plugin.CustomerFact`), as `fact.<key>` fields: "has an open complaint" is
the service desk's `fact.open_complaint`, a subquery of customer ids that marketing
compiles into its one query without importing `service`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    DecimalField,
    Exists,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils import timezone
from django.utils.dateparse import parse_date

from customers.choices import (
    ConsentChannel,
    ConsentPurpose,
    ContactKind,
    CustomerKind,
    FieldType,
    LifecycleStage,
)
from customers.models import Activity, ContactPoint, CurrentConsent, Customer, CustomFieldDefinition
from frontoffice import plugin
from frontoffice.plugin import CustomerFact
from sales.orders.models import SalesOrder, SalesOrderLine

MAX_DEPTH = 8
MAX_CONDITIONS = 100
MAX_DAYS = 36500
MAX_LIST = 100
MAX_TEXT = 200
MAX_AMOUNT = Decimal("1e12")
_attribute_key = re.compile(r"[a-z][a-z0-9_]{0,49}")
CONSENT_STATES = ("granted", "withdrawn", "never")
FACT_PREFIX = "fact."

TEXT_OPS = ("eq", "ne", "contains", "starts_with", "is_set", "is_not_set")
NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
CHOICE_OPS = ("eq", "ne", "in", "not_in")
DATE_OPS = ("before", "after", "within_days", "older_than_days")
VALUELESS = ("is_set", "is_not_set")


class RuleError(Exception):
    """One fault at one path (collected into a ValidationError)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class FieldSpec:
    """A field of the language: its label, type, operators and how a condition on it
    becomes a Q (`build(op, value, now)`, the value already checked)."""

    label: str
    type: str
    ops: tuple[str, ...]
    build: Callable[[str, Any, dt.datetime], Q]
    choices: tuple[str, ...] = ()
    help: str = ""


# --- value checks ------------------------------------------------------------------------


def _text(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError(path, "Expected some text.")
    if len(value) > MAX_TEXT or "\x00" in value:
        raise RuleError(path, f"Expected text of at most {MAX_TEXT} characters.")
    return value.strip()


def _number(path: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RuleError(path, "Expected a number.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RuleError(path, "Expected a number.") from None
    if not number.is_finite() or abs(number) >= MAX_AMOUNT:
        raise RuleError(path, "Expected a finite number below 10^12.")
    return number


def _days(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise RuleError(path, f"Expected a whole number of days (0 to {MAX_DAYS}).")
    return value


def _date(path: str, value: Any) -> dt.date:
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_date(value[:10]) if len(value) == 10 else None
        except ValueError:
            parsed = None
    if parsed is None:
        raise RuleError(path, "Expected a date as YYYY-MM-DD.")
    return parsed


def _choice(path: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise RuleError(path, f"Choose one of: {', '.join(choices)}.")
    return str(value)


def _choice_list(path: str, value: Any, choices: tuple[str, ...]) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise RuleError(path, f"Expected a list of 1 to {MAX_LIST} values.")
    return [_choice(f"{path}.{i}", item, choices) for i, item in enumerate(value)]


def _text_list(path: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise RuleError(path, f"Expected a list of 1 to {MAX_LIST} values.")
    return [_text(f"{path}.{i}", item) for i, item in enumerate(value)]


# --- building blocks of Q --------------------------------------------------------------


def _compare(op: str, lhs: Any, rhs: Any) -> Q:
    lookups = {
        "eq": Exact,
        "gt": GreaterThan,
        "gte": GreaterThanOrEqual,
        "lt": LessThan,
        "lte": LessThanOrEqual,
    }
    if op == "ne":
        return ~Q(Exact(lhs, rhs))
    return Q(lookups[op](lhs, rhs))


def _text_q(field: str, op: str, value: Any) -> Q:
    if op == "is_set":
        return Q(**{f"{field}__gt": ""})
    if op == "is_not_set":
        return ~Q(**{f"{field}__gt": ""})
    lookup = {"eq": "iexact", "ne": "iexact", "contains": "icontains", "starts_with": "istartswith"}[op]
    q = Q(**{f"{field}__{lookup}": value})
    return ~q if op == "ne" else q


def _date_q(field: str, op: str, value: Any, now: dt.datetime) -> Q:
    if op == "within_days":
        return Q(**{f"{field}__gte": now - dt.timedelta(days=value)})
    if op == "older_than_days":
        return Q(**{f"{field}__lt": now - dt.timedelta(days=value)})
    start = dt.datetime.combine(value, dt.time.min, tzinfo=timezone.get_current_timezone())
    if op == "before":
        return Q(**{f"{field}__lt": start})
    return Q(**{f"{field}__gte": start + dt.timedelta(days=1)})  # after: from the next day on


def _choice_q(field: str, op: str, value: Any) -> Q:
    q = Q(**{field: value}) if op in ("eq", "ne") else Q(**{f"{field}__in": value})
    return ~q if op in ("ne", "not_in") else q


def _tag_exists(names: list[str]) -> Q:
    """The customers with one of the tags: `pk IN (uncorrelated sub-select)`, which
    PostgreSQL runs once as a hashed sub-plan (and may run in parallel) where a
    correlated EXISTS would probe the tags once per customer, and, under an OR with
    other rules, could not become a semi-join (3x slower over 1M customers). The
    tag links' customer is never NULL, so `NOT IN` (has_not) is safe."""
    tags = Q()
    for name in names:
        tags |= Q(tag__name__iexact=name)
    return Q(pk__in=Customer.tags.through.objects.filter(tags).values("customer_id"))


def _tag_q(op: str, value: Any, now: dt.datetime) -> Q:
    names = value if isinstance(value, list) else [value]
    if op == "has":
        return _tag_exists(names)
    if op == "has_not":
        return ~_tag_exists(names)
    if op == "has_any":
        return _tag_exists(names)
    q = Q()
    for name in names:  # has_all
        q &= _tag_exists([name])
    return q


def _email_q(op: str, value: Any, now: dt.datetime) -> Q:
    emails = ContactPoint.objects.filter(customer=OuterRef("pk"), kind=ContactKind.EMAIL)
    if op == "is_set":
        return Q(Exists(emails))
    if op == "is_not_set":
        return ~Q(Exists(emails))
    value = value.lower()
    if op == "eq":
        return Q(Exists(emails.filter(value=value)))
    if op == "ne":
        return ~Q(Exists(emails.filter(value=value)))
    if op == "ends_with":
        return Q(Exists(emails.filter(value__endswith=value)))
    return Q(Exists(emails.filter(value__contains=value)))


def consent_given(channel: str, purpose: str, *, granted: bool) -> Exists:
    """The customer's current consent for (channel, purpose) is a grant (`granted`) or a
    withdrawal: the hub's current-consent row, one index lookup (no ledger walk)."""
    return Exists(
        CurrentConsent.objects.filter(
            customer=OuterRef("pk"), channel=channel, purpose=purpose, granted=granted
        )
    )


def _consent_builder(channel: str, purpose: str) -> Callable[[str, Any, dt.datetime], Q]:
    def build(op: str, value: Any, now: dt.datetime) -> Q:
        if value == "never":
            q = ~Q(
                Exists(
                    CurrentConsent.objects.filter(customer=OuterRef("pk"), channel=channel, purpose=purpose)
                )
            )
        else:
            q = Q(consent_given(channel, purpose, granted=value == "granted"))
        return ~q if op == "ne" else q

    return build


def lifetime_value() -> Coalesce:
    """What the customer has ordered, all time (orders not being cancelled), in any currency."""
    total = (
        SalesOrder.objects.filter(customer=OuterRef("pk"), cancel_requested_at__isnull=True)
        .order_by()
        .values("customer")
        .annotate(total=Sum("total"))
        .values("total")
    )
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=16, decimal_places=2)
    return Coalesce(Subquery(total, output_field=money), Value(Decimal("0")), output_field=money)


def _lifetime_q(op: str, value: Any, now: dt.datetime) -> Q:
    return _compare(op, lifetime_value(), value)


def _ordered_product_q(op: str, value: Any, now: dt.datetime) -> Q:
    lines = SalesOrderLine.objects.filter(
        order__customer=OuterRef("pk"),
        product_id=value["sku"],
        order__created_at__gte=now - dt.timedelta(days=value["days"]),
        order__cancel_requested_at__isnull=True,
    )
    return Q(Exists(lines))


def _responded_q(op: str, value: Any, now: dt.datetime) -> Q:
    from marketing.models import CampaignMember  # the models import this module's users

    responded = CampaignMember.objects.filter(customer=OuterRef("pk"), campaign_id=value).filter(
        Q(clicked_at__isnull=False) | Q(responded_at__isnull=False) | Q(converted_at__isnull=False)
    )
    q = Q(Exists(responded))
    return ~q if op == "ne" else q


def _last_activity_q(op: str, value: Any, now: dt.datetime) -> Q:
    recent = Activity.objects.filter(customer=OuterRef("pk"), occurred_at__gte=now - dt.timedelta(days=value))
    if op == "within_days":
        return Q(Exists(recent))
    return ~Q(Exists(recent))  # older_than_days: nothing since (or nothing at all)


# --- the catalogue ------------------------------------------------------------------------


def _profile_fields() -> dict[str, FieldSpec]:
    def choice(field: str) -> Callable[[str, Any, dt.datetime], Q]:
        return lambda op, value, now: _choice_q(field, op, value)

    def text(field: str) -> Callable[[str, Any, dt.datetime], Q]:
        return lambda op, value, now: _text_q(field, op, value)

    fields = {
        "kind": FieldSpec("Kind", "choice", CHOICE_OPS, choice("kind"), tuple(CustomerKind.values)),
        "lifecycle_stage": FieldSpec(
            "Lifecycle stage", "choice", CHOICE_OPS, choice("lifecycle_stage"), tuple(LifecycleStage.values)
        ),
        "display_name": FieldSpec("Name", "text", TEXT_OPS, text("display_name")),
        "first_name": FieldSpec("First name", "text", TEXT_OPS, text("first_name")),
        "last_name": FieldSpec("Last name", "text", TEXT_OPS, text("last_name")),
        "organisation_name": FieldSpec("Organisation name", "text", TEXT_OPS, text("organisation_name")),
        "created_at": FieldSpec(
            "Created", "date", DATE_OPS, lambda op, value, now: _date_q("created_at", op, value, now)
        ),
        "owner": FieldSpec(
            "Owner (user id)",
            "id",
            ("eq", "ne", "is_set", "is_not_set"),
            lambda op, value, now: (
                Q(owner__isnull=False)
                if op == "is_set"
                else Q(owner__isnull=True)
                if op == "is_not_set"
                else (Q(owner_id=value) if op == "eq" else ~Q(owner_id=value) | Q(owner__isnull=True))
            ),
        ),
        "email": FieldSpec(
            "E-mail address", "text", ("eq", "ne", "contains", "ends_with", "is_set", "is_not_set"), _email_q
        ),
        "tag": FieldSpec("Tag", "tag", ("has", "has_not", "has_any", "has_all"), _tag_q),
        "ordered_product": FieldSpec(
            "Ordered product",
            "product_days",
            ("within_days",),
            _ordered_product_q,
            help='{"sku": "CHAIR-01", "days": 90}: ordered that product in the last N days.',
        ),
        "lifetime_order_value": FieldSpec(
            "Lifetime order value", "number", NUMBER_OPS, _lifetime_q, help="Total of the orders, all time."
        ),
        "responded_to_campaign": FieldSpec(
            "Responded to campaign (id)",
            "campaign",
            ("eq", "ne"),
            _responded_q,
            help="Clicked, answered or converted in that campaign.",
        ),
        "last_activity": FieldSpec(
            "Last activity",
            "days",
            ("within_days", "older_than_days"),
            _last_activity_q,
            help="Anything on the timeline in / not in the last N days.",
        ),
    }
    for channel in ConsentChannel.values:
        for purpose in ConsentPurpose.values:
            fields[f"consent.{channel}.{purpose}"] = FieldSpec(
                f"Consent: {channel} / {purpose}",
                "consent",
                ("eq", "ne"),
                _consent_builder(channel, purpose),
                CONSENT_STATES,
            )
    return fields


PROFILE_FIELDS = _profile_fields()


def _fact_spec(fact: CustomerFact) -> FieldSpec:
    def build(op: str, value: Any, now: dt.datetime) -> Q:
        q = Q(pk__in=fact.customers())
        return q if value else ~q

    return FieldSpec(f"Fact: {fact.label}", "boolean", ("eq",), build, help=fact.help)


# A custom attribute's negative operators and the positive ones they negate.
_NEGATED = {"ne": "eq", "not_in": "in"}


def _attribute_q(key: str, op: str, value: Any, positive: Callable[[str, Any], Q]) -> Q:
    """A condition on a custom attribute that holds only where the customer has it, so
    that its negation (`ne`, `not_in`, or a `not` group) holds for everyone else, those
    without the attribute included (SQL's NULL would leave them out of both)."""
    if op in VALUELESS:
        return _attribute_presence(key, op)
    q = Q(**{"attributes__has_key": key.removeprefix("attributes__")}) & positive(_NEGATED.get(op, op), value)
    return ~q if op in _NEGATED else q


def _attribute_spec(definition: CustomFieldDefinition) -> FieldSpec:
    key = f"attributes__{definition.key}"
    kind = definition.field_type
    label = f"Custom: {definition.label}"
    if kind == FieldType.NUMBER:
        return FieldSpec(
            label,
            "number",
            (*NUMBER_OPS, "is_set", "is_not_set"),
            lambda op, value, now: _attribute_q(key, op, value, lambda o, v: _attribute_number(key, o, v)),
        )
    if kind == FieldType.BOOLEAN:
        return FieldSpec(
            label,
            "boolean",
            ("eq",),
            lambda op, value, now: _attribute_q(key, op, value, lambda o, v: Q(**{key: v})),
        )
    if kind == FieldType.CHOICE:
        return FieldSpec(
            label,
            "choice",
            (*CHOICE_OPS, "is_set", "is_not_set"),
            lambda op, value, now: _attribute_q(key, op, value, lambda o, v: _choice_q(key, o, v)),
            tuple(str(c) for c in definition.choices),
        )
    if kind == FieldType.DATE:
        return FieldSpec(
            label,
            "attr_date",
            ("before", "after", "is_set", "is_not_set"),
            lambda op, value, now: _attribute_q(
                key, op, value, lambda o, v: Q(**{f"{key}__{'lt' if o == 'before' else 'gt'}": v.isoformat()})
            ),
        )
    return FieldSpec(
        label,
        "text",
        TEXT_OPS,
        lambda op, value, now: _attribute_q(key, op, value, lambda o, v: _text_q(key, o, v)),
    )


def _attribute_presence(key: str, op: str) -> Q:
    q = Q(**{"attributes__has_key": key.removeprefix("attributes__")})
    return q if op == "is_set" else ~q


def _attribute_number(key: str, op: str, value: Decimal) -> Q:
    number: int | float = int(value) if value == value.to_integral_value() else float(value)
    lookup = {"eq": "", "gt": "__gt", "gte": "__gte", "lt": "__lt", "lte": "__lte"}[op]
    return Q(**{f"{key}{lookup}": number})


def catalogue(definitions: list[CustomFieldDefinition] | None = None) -> dict[str, FieldSpec]:
    """Every field a rule may name: the profile's, behaviours, consents, one `fact.<key>`
    per customer fact the apps contribute, and one `attr.<key>` per custom attribute (1 query, unless `definitions` are given)."""
    if definitions is None:
        definitions = list(CustomFieldDefinition.objects.all())
    fields = dict(PROFILE_FIELDS)
    for key, fact in plugin.customer_facts().items():
        fields[f"{FACT_PREFIX}{key}"] = _fact_spec(fact)
    for definition in definitions:
        fields[f"attr.{definition.key}"] = _attribute_spec(definition)
    return fields


# --- validation and compilation -----------------------------------------------------------


def _value_for(spec: FieldSpec, op: str, value: Any, path: str) -> Any:
    """The condition's value, checked for the field's type and the operator."""
    if op in VALUELESS:
        if value not in (None, "", True):
            raise RuleError(path, "This operator takes no value.")
        return None
    kind = spec.type
    if kind in ("text",):
        return _text(path, value)
    if kind == "choice":
        if op in ("in", "not_in"):
            return _choice_list(path, value, spec.choices)
        return _choice(path, value, spec.choices)
    if kind == "number":
        return _number(path, value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise RuleError(path, "Expected true or false.")
        return value
    if kind == "date":
        if op in ("within_days", "older_than_days"):
            return _days(path, value)
        return _date(path, value)
    if kind == "attr_date":
        return _date(path, value)
    if kind == "days":
        return _days(path, value)
    if kind == "consent":
        return _choice(path, value, CONSENT_STATES)
    if kind == "tag":
        if op in ("has_any", "has_all"):
            return _text_list(path, value)
        return _text(path, value)
    if kind == "id" or kind == "campaign":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
            raise RuleError(path, "Expected an id (a positive whole number).")
        return value
    if kind == "product_days":
        if not isinstance(value, Mapping) or set(value) != {"sku", "days"}:
            raise RuleError(path, 'Expected {"sku": "...", "days": N}.')
        return {"sku": _text(f"{path}.sku", value["sku"]), "days": _days(f"{path}.days", value["days"])}
    raise RuleError(path, "Unsupported field type.")  # pragma: no cover - the catalogue is closed


class _Compiler:
    def __init__(self, fields: Mapping[str, FieldSpec], now: dt.datetime) -> None:
        self.fields = fields
        self.now = now
        self.errors: dict[str, list[str]] = {}
        self.conditions = 0
        self.campaign_ids: list[tuple[str, int]] = []

    def fail(self, path: str, message: str) -> Q:
        self.errors.setdefault(path, []).append(message)
        return Q()

    def node(self, node: Any, path: str, depth: int) -> Q:
        if depth > MAX_DEPTH:
            return self.fail(path, f"Groups nest at most {MAX_DEPTH} deep.")
        if not isinstance(node, Mapping):
            return self.fail(path, "Expected a rule or a group (an object).")
        groups = [k for k in ("all", "any", "not") if k in node]
        if groups:
            if len(node) != 1:
                return self.fail(path, 'A group has exactly one key: "all", "any" or "not".')
            key = groups[0]
            if key == "not":
                return ~self.node(node["not"], f"{path}.not", depth + 1)
            children = node[key]
            if not isinstance(children, list) or not children:
                return self.fail(f"{path}.{key}", "Expected a non-empty list of rules.")
            q = Q()
            for index, child in enumerate(children):
                part = self.node(child, f"{path}.{key}.{index}", depth + 1)
                q = (q & part) if key == "all" else (q | part)
            return q
        return self.condition(node, path)

    def condition(self, node: Mapping[str, Any], path: str) -> Q:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            if self.conditions == MAX_CONDITIONS + 1:
                self.fail(path, f"A segment has at most {MAX_CONDITIONS} rules.")
            return Q()
        unknown = set(node) - {"field", "op", "value"}
        if unknown:
            return self.fail(path, f"Unknown keys: {', '.join(sorted(str(k)[:30] for k in unknown))}.")
        name = node.get("field")
        spec = self.fields.get(name) if isinstance(name, str) else None
        if spec is None:
            if isinstance(name, str) and name.startswith("attr.") and _attribute_key.fullmatch(name[5:]):
                return self.fail(f"{path}.field", f"No custom attribute {name[5:]!r}.")
            if isinstance(name, str) and name.startswith(FACT_PREFIX):
                known = ", ".join(k for k in plugin.customer_facts()) or "none"
                return self.fail(
                    f"{path}.field", f"No customer fact {name[len(FACT_PREFIX) :][:50]!r} (known: {known})."
                )
            return self.fail(f"{path}.field", "Unknown field.")
        op = node.get("op")
        if op not in spec.ops:
            return self.fail(f"{path}.op", f"{spec.label} takes one of: {', '.join(spec.ops)}.")
        try:
            value = _value_for(spec, op, node.get("value"), f"{path}.value")
        except RuleError as exc:
            return self.fail(exc.path, exc.message)
        if spec.type == "campaign":
            self.campaign_ids.append((f"{path}.value", value))
        return spec.build(op, value, self.now)


def compile_rules(
    rules: Any,
    *,
    definitions: list[CustomFieldDefinition] | None = None,
    now: dt.datetime | None = None,
) -> Q:
    """The Q selecting the customers `rules` describe; ValidationError keyed by the path of
    each fault. An empty rule set (`{}`) selects everyone. 1 query for the custom
    attributes' definitions (none when given), 1 when a rule names a campaign."""
    if rules in ({}, None):
        return Q()
    compiler = _Compiler(catalogue(definitions), now or timezone.now())
    q = compiler.node(rules, "rules", 0)
    if compiler.campaign_ids and not compiler.errors:
        from marketing.models import Campaign

        known = set(
            Campaign.objects.filter(pk__in=[c for _, c in compiler.campaign_ids]).values_list("pk", flat=True)
        )
        for path, campaign_id in compiler.campaign_ids:
            if campaign_id not in known:
                compiler.fail(path, "No such campaign.")
    if compiler.errors:
        raise ValidationError(compiler.errors)
    return q
