"""The console's figures per centre, kept in the public schema so that no console page enters every
centre's schema: per centre, issuer and state the orders and their premium; per centre, month and
issuer the guarantees issued and their premium. ``centre_rollup_refresh`` recomputes one centre's
rows from its schema (two grouped queries) and replaces them in one transaction; the tenant task
``console.rollup`` runs it where the due index says a centre's orders changed, onboarding runs it
for a new centre.

Reads filter the rows by what a console user may see (``rollup_visible``): every row for a
platform admin, a centre's rows for its staff, an issuer's rows of a centre for that issuer's staff.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.billing.periods import BILLING_TZ
from baohan.billing.services import COUNTED_STATES
from baohan.console.access import is_platform_admin
from baohan.console.models import CentreMonthFigure, CentreRollup, CentreStateFigure, ConsoleRole
from baohan.guarantees.effects import TransitionDone
from baohan.guarantees.models import Order
from baohan.guarantees.selectors import state_label
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack

ROLLUP_JOB = "console.rollup"
# An order's move marks its centre's rollup due this much later: a burst of moves is one refresh.
ROLLUP_DELAY = timedelta(seconds=60)
ZERO = Decimal("0.00")

M = TypeVar("M", bound=Model)


def centre_rollup_refresh(*, tenant: Tenant) -> CentreRollup:
    """Recompute ``tenant``'s rows from its schema and put them in place of the old ones, in one
    transaction (a refresh of the same centre running alongside waits for it). Touches no other
    centre's rows."""
    pack = tenant_rule_pack(tenant=tenant) if tenant.current_rule_pack_id is not None else None
    with transaction.atomic():
        # The centre's row, locked: two refreshes of one centre take turns.
        CentreRollup.objects.bulk_create(
            [CentreRollup(tenant=tenant, refreshed_at=timezone.now())], ignore_conflicts=True
        )
        rollup = CentreRollup.objects.select_for_update().get(tenant=tenant)
        with tenant_context(tenant):
            states = list(
                Order.objects.order_by().values("issuer_code", "state").annotate(n=Count("id"), premium=Sum("premium"))
            )
            months = list(
                Order.objects.filter(state__in=COUNTED_STATES, issued_at__isnull=False)
                .annotate(month=TruncMonth("issued_at", tzinfo=BILLING_TZ))
                .order_by()
                .values("month", "issuer_code")
                .annotate(n=Count("id"), premium=Sum("premium"))
            )
        CentreStateFigure.objects.filter(tenant=tenant).delete()
        CentreMonthFigure.objects.filter(tenant=tenant).delete()
        CentreStateFigure.objects.bulk_create(
            CentreStateFigure(
                tenant=tenant,
                issuer_code=row["issuer_code"],
                state=row["state"],
                label=state_label(pack=pack, state=row["state"]) if pack is not None else row["state"],
                orders=row["n"],
                premium=row["premium"] or ZERO,
            )
            for row in states
        )
        CentreMonthFigure.objects.bulk_create(
            CentreMonthFigure(
                tenant=tenant,
                month=_month_day(row["month"]),
                issuer_code=row["issuer_code"],
                issued=row["n"],
                premium=row["premium"] or ZERO,
            )
            for row in months
        )
        rollup.refreshed_at = timezone.now()
        rollup.save(update_fields=["refreshed_at"])
    return rollup


def _month_day(value: datetime | date) -> date:
    return value.astimezone(BILLING_TZ).date() if isinstance(value, datetime) else value


def rollup_due_on_transition(done: TransitionDone) -> None:
    """An order moved (run in its centre's schema, inside the transition's transaction): the
    centre's figures are refreshed by ``console.rollup`` shortly after."""
    from baohan.ops.due import centre_due_mark

    centre_due_mark(job=ROLLUP_JOB, at=timezone.now() + ROLLUP_DELAY)


def rollup_visible(qs: QuerySet[M], *, user: User | AnonymousUser) -> QuerySet[M]:
    """The rows of ``qs`` (a rollup model's, with ``tenant`` and ``issuer_code``) ``user`` may see:
    all for a platform admin; a centre's for its staff; one issuer's of a centre for its staff."""
    if is_platform_admin(user):
        return qs
    if not user.is_authenticated or user.pk is None:
        return qs.none()
    roles = ConsoleRole.objects.filter(user_id=user.pk, tenant_id=OuterRef("tenant_id")).filter(
        Q(kind=ConsoleRole.Kind.CENTRE_STAFF)
        | Q(kind=ConsoleRole.Kind.ISSUER_STAFF, issuer_code=OuterRef("issuer_code"))
    )
    return qs.filter(Exists(roles))
