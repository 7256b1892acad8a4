"""Realistic, deterministic customer demo data, fast (`manage.py seed_demo`).

Organisations (some of them subsidiaries of groups), people (three in four customers,
most of them members of organisations with a role), contact points, tags, custom
attributes, the consent ledger and timelines over the past two years, owned by demo
staff in every role, plus a handful of deliberate duplicates for the duplicates page.

Speed (100,000 customers well under two minutes on SQLite): names and addresses come
from pools that Faker fills once; a seeded `random.Random` draws from them; rows go in
with `executemany`, a chunk of customers at a time, in one transaction. Bulk inserts
bypass the services and the audit history on purpose: this is seed data, and the
invariants the services keep (lower-case e-mails, valid E.164 phones, one primary per
kind, unique primary e-mails, valid custom attributes, the consent line on the
timeline) are kept here by construction and checked by the tests.

Rooms: `vocabulary` (the fixed word lists and weights), `specs` (what is drawn),
`draw` (drawing it), `bulk` (raw inserts), `seeder` (inserting a chunk), `setup`
(staff, tags, attribute definitions), `seed` (all of it, in one transaction).
"""
