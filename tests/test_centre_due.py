"""Periodic work is queued only in the centres that have something due (``baohan/ops/due.py``):
a beat tick costs the same few statements however many centres there are, and a centre's own
writes (an order awaiting payment) are what make it due."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.guarantees.models import Order
from baohan.ops.due import centre_due_claim, centre_due_fan_out, centre_due_mark
from baohan.ops.models import CentreDue
from baohan.payments.tasks import deadlines_task, fan_out, fan_out_all
from baohan.sections.models import Section
from tenants.db import connection as tenant_connection
from tenants.models import Tenant
from tenants.selectors import pack_in_force
from tests.api import tenant
from tests.money import benxi_like_waiting, xinjiang_waiting

JOB = "payments.deadlines"


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The centres ``payments.deadlines`` is queued in (recorded instead of run)."""
    seen: list[str] = []
    monkeypatch.setattr(deadlines_task, "delay", lambda *a, **k: seen.append(tenant_connection.schema_name))
    return seen


def many_centres(count: int) -> list[str]:
    """Centres without a schema of their own: the tick must not even look at them."""
    names = [f"duecentre{i}" for i in range(count)]
    Tenant.objects.bulk_create(Tenant(schema_name=n, code=n, name=n, theme="default") for n in names)
    return names


def tick_statements() -> tuple[int, int]:
    """A tick's count and its statements (the ``search_path`` set once per schema change aside)."""
    tenant_connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as captured:
        count = fan_out(JOB)
    return count, len([q for q in captured.captured_queries if not q["sql"].startswith("SET search_path")])


@pytest.mark.django_db
def test_a_tick_with_nothing_due_queues_nothing_in_one_statement_however_many_centres(queued: list[str]) -> None:
    CentreDue.objects.all().delete()
    few = tick_statements()
    names = many_centres(300)
    # Every one of them has work, but later: still nothing due.
    later = timezone.now() + timedelta(hours=1)
    CentreDue.objects.bulk_create(CentreDue(schema_name=n, job=JOB, due_at=later) for n in names)
    many = tick_statements()
    assert few == many == (0, 1)
    assert queued == []
    assert CentreDue.objects.filter(job=JOB).count() == 300  # nothing claimed


@pytest.mark.django_db
def test_a_tick_costs_the_same_statements_for_one_or_many_centres_due(queued: list[str]) -> None:
    CentreDue.objects.all().delete()
    past = timezone.now() - timedelta(seconds=1)
    costs = []
    for codes in (["benxi"], ["benxi", "xinjiang", "xuancheng", "paytest"]):
        CentreDue.objects.bulk_create(CentreDue(schema_name=c, job=JOB, due_at=past) for c in codes)
        queued.clear()
        count, statements = tick_statements()
        assert (count, sorted(queued)) == (len(codes), sorted(codes))
        costs.append(statements)
    assert costs == [2, 2]  # the claim, and the centres claimed


def expected_mark(deadline: datetime, hours: list[int], now: datetime) -> datetime:
    ahead = [t for t in [deadline, *(deadline - timedelta(hours=h) for h in hours)] if t > now]
    return min(ahead)


@pytest.mark.django_db
def test_an_order_awaiting_payment_marks_its_deadline_and_the_tick_then_queues_that_centre_only(
    queued: list[str],
) -> None:
    CentreDue.objects.all().delete()
    before = timezone.now()
    waiting = benxi_like_waiting("benxi")
    deadline = waiting.order().section.deposit_deadline
    with tenant_context(tenant("benxi")):
        hours = list(pack_in_force()[0].payment.reminders_before_deadline_hours)
    assert hours, "the pack reminds before the deadline"
    due = CentreDue.objects.get(schema_name="benxi", job=JOB).due_at
    assert due == expected_mark(deadline, hours, before)  # the first reminder window, days ahead
    assert list(CentreDue.objects.filter(job=JOB).values_list("schema_name", flat=True)) == ["benxi"]

    tenant_connection.set_schema_to_public()
    assert fan_out(JOB) == 0  # not yet
    assert queued == []
    assert centre_due_fan_out(job=JOB, now=due - timedelta(seconds=1)) == 0
    assert centre_due_fan_out(job=JOB, now=due) == 1
    assert queued == ["benxi"]
    assert centre_due_fan_out(job=JOB, now=due + timedelta(minutes=5)) == 0  # claimed: not queued again
    assert queued == ["benxi"]
    assert not CentreDue.objects.filter(job=JOB).exists()


@pytest.mark.django_db
def test_the_job_run_marks_its_next_due_time_from_the_centres_data() -> None:
    CentreDue.objects.all().delete()
    waiting = xinjiang_waiting(days=5)
    first = CentreDue.objects.get(schema_name="xinjiang", job=JOB).due_at
    CentreDue.objects.all().delete()
    with tenant_context(tenant("xinjiang")):
        assert deadlines_task() == {"expired": 0, "reminded": 0}
    assert CentreDue.objects.get(schema_name="xinjiang", job=JOB).due_at == first
    # Paid (or gone) orders leave nothing pending: after its run the centre is not due at all.
    with tenant_context(tenant("xinjiang")):
        Order.objects.filter(number=waiting.number).update(state="abandoned")
        CentreDue.objects.all().delete()
        deadlines_task()
    assert not CentreDue.objects.exists()


@pytest.mark.django_db
def test_a_mark_in_one_centre_never_runs_work_in_another_and_the_daily_sweep_catches_a_missed_mark() -> None:
    a, b = xinjiang_waiting(), benxi_like_waiting("benxi")
    past = timezone.now() - timedelta(minutes=10)
    for w in (a, b):
        with tenant_context(tenant(w.centre)):
            Section.objects.filter(code=w.section).update(deposit_deadline=past)  # no service: no mark
    CentreDue.objects.all().delete()
    with tenant_context(tenant("xinjiang")):
        centre_due_mark(job=JOB)
    tenant_connection.set_schema_to_public()
    assert fan_out(JOB) == 1
    assert (a.order().state, b.order().state) == ("cancelled", "awaiting_payment")
    assert fan_out(JOB) == 0
    assert b.order().state == "awaiting_payment"
    # The daily full fan-out: each centre recomputes its next due times from its own data.
    assert fan_out_all() == Tenant.objects.filter(is_active=True).exclude(schema_name="public").count()
    due_now = CentreDue.objects.filter(job=JOB, due_at__lte=timezone.now())
    assert set(due_now.values_list("schema_name", flat=True)) == {"benxi"}
    assert fan_out(JOB) == 1
    assert b.order().state == "cancelled"


@pytest.mark.django_db
def test_a_mark_only_moves_earlier_and_needs_a_centre() -> None:
    CentreDue.objects.all().delete()
    soon, later = timezone.now() + timedelta(hours=1), timezone.now() + timedelta(hours=5)
    with tenant_context(tenant("benxi")):
        centre_due_mark(job=JOB, at=later)
        centre_due_mark(job=JOB, at=soon)
        centre_due_mark(job=JOB, at=later)
    assert list(CentreDue.objects.values_list("schema_name", "due_at")) == [("benxi", soon)]
    tenant_connection.set_schema_to_public()
    with pytest.raises(RuntimeError, match="without a centre"):
        centre_due_mark(job=JOB)


def test_two_claims_side_by_side_never_take_the_same_centre(committed_db: None) -> None:
    job = "tests.concurrent_claim"
    names = [f"claimcentre{i}" for i in range(30)]
    past = timezone.now() - timedelta(seconds=1)
    CentreDue.objects.bulk_create(CentreDue(schema_name=n, job=job, due_at=past) for n in names)
    first: list[str] = []
    claimed, release = threading.Event(), threading.Event()

    def hold_a_claim() -> None:
        try:
            with transaction.atomic():
                first.extend(centre_due_claim(job=job, now=timezone.now(), limit=20))
                claimed.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_a_claim)
    holder.start()
    try:
        assert claimed.wait(30)
        second = centre_due_claim(job=job, now=timezone.now(), limit=30)  # not blocked by the first
        release.set()
        holder.join(30)
        assert len(first) == 20
        assert len(second) == 10
        assert not set(first) & set(second)
        assert set(first) | set(second) == set(names)
        assert centre_due_claim(job=job, now=timezone.now(), limit=30) == []
    finally:
        release.set()
        holder.join(30)
        CentreDue.objects.filter(job=job).delete()
