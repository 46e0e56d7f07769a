"""Bid opening: every issued guarantee of a section, as the centre checks them, built by PostgreSQL.

At the opening a centre asks for a section's guarantees, one per bidder, up to a thousand and more.
The rows are the ones ``guarantee_row`` gives for one guarantee (guarantees/api/centre.py), with the
status decided as ``guarantee_status`` decides it, but read in one statement that touches only the
columns shown (no order form, no encrypted column) and returns the JSON array itself: no model
instance, no decryption, no encoder in Python. ``tests/test_bid_opening.py`` holds the two equal.
"""

from __future__ import annotations

import json
from datetime import date

from django.db import connection
from django.utils import timezone

from baohan.guarantees.selectors import GUARANTEE_STATUS_LABELS, SECTION_HOLDS, state_label
from baohan.rulepacks.models import OrderState, RulePack, SectionStatus
from baohan.sections.models import Section

# A timestamp as Django REST framework writes one: ISO 8601 in UTC, "Z", microseconds only when any.
_ISO = (
    "to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    " || CASE WHEN extract(microseconds FROM {c})::int %% 1000000 = 0 THEN ''"
    " ELSE to_char({c} AT TIME ZONE 'UTC', '.US') END || 'Z'"
)

_SQL = f"""
WITH rows AS (
  SELECT o.id, o.issued_at, o.guarantee_number, o.number, o.state, o.deposit_kind, o.issuer_code,
         o.insured_amount, o.valid_from, o.valid_until, e.name, e.uscc,
         CASE WHEN o.state = 'surrendered' THEN 'surrendered'
              WHEN o.state <> 'issued' THEN 'void'
              WHEN EXISTS (SELECT 1 FROM claims_claim c WHERE c.order_id = o.id AND c.state = 'paid') THEN 'claimed'
              WHEN %(held)s::text IS NOT NULL THEN %(held)s::text
              WHEN o.valid_until < %(today)s::date THEN 'expired'
              ELSE 'valid' END AS status
    FROM guarantees_order o JOIN guarantees_enterprise e ON e.id = o.enterprise_id
   WHERE o.section_id = %(section)s AND o.guarantee_number IS NOT NULL
)
SELECT coalesce(json_agg(json_build_object(
         'guarantee_number', guarantee_number,
         'order_number', number,
         'status', status,
         'status_label', %(status_labels)s::jsonb ->> status,
         'section_status', %(section_status)s::text,
         'state_label', %(state_labels)s::jsonb ->> state,
         'bidder_name', name,
         'bidder_uscc', uscc,
         'section_code', %(section_code)s::text,
         'deposit_kind', deposit_kind,
         'issuer_code', issuer_code,
         'insured_amount', insured_amount::text,
         'issued_at', {_ISO.format(c="issued_at")},
         'valid_from', valid_from::text,
         'valid_until', valid_until::text
       ) ORDER BY issued_at, id), '[]')::text
  FROM rows
"""


def section_guarantees_statement(*, section: Section, pack: RulePack) -> tuple[str, dict[str, str | int | date | None]]:
    """The statement that builds ``section``'s listing, and its parameters."""
    params: dict[str, str | int | date | None] = {
        "section": section.pk,
        "section_code": section.code,
        "section_status": section.status,
        "held": SECTION_HOLDS.get(SectionStatus(section.status)),
        "today": timezone.localdate(),
        "status_labels": json.dumps(GUARANTEE_STATUS_LABELS, ensure_ascii=False),
        "state_labels": json.dumps({s.value: state_label(pack=pack, state=s.value) for s in OrderState}),
    }
    return _SQL, params


def section_guarantees_json(*, section: Section, pack: RulePack) -> str:
    """The JSON array of ``section``'s issued guarantees, oldest first (as ``guarantee_row`` each)."""
    sql, params = section_guarantees_statement(section=section, pack=pack)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return str(cursor.fetchone()[0])
