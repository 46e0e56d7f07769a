# Statement lines: the work queue apart (OpenLine), nothing matching writes indexed, room on
# each page for the matched version of its lines. The ledger: one row per movement, its
# accounts in columns and balanced by a constraint (was: one row per leg).

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models
from django.db.models.lookups import Exact

LEGS_TO_MOVEMENTS = """
WITH m AS (
    SELECT movement, min(id) AS keep,
           CASE WHEN bool_or(kind = 'surrender') THEN 'surrender'
                WHEN bool_or(kind = 'refund_paid') THEN 'refund_paid'
                ELSE 'payment_received' END AS kind,
           coalesce(sum(amount) FILTER (WHERE account = 'cash'), 0) AS cash,
           coalesce(sum(amount) FILTER (WHERE account = 'premium'), 0) AS premium,
           coalesce(sum(amount) FILTER (WHERE account = 'fee'), 0) AS fee,
           coalesce(sum(amount) FILTER (WHERE account = 'refunds_due'), 0) AS refunds_due
      FROM payments_ledgerentry GROUP BY movement
)
UPDATE payments_ledgerentry l
   SET cash = m.cash, premium = m.premium, fee = m.fee, refunds_due = m.refunds_due,
       kind = m.kind
  FROM m WHERE l.id = m.keep;
DELETE FROM payments_ledgerentry l USING (SELECT movement, min(id) AS keep FROM payments_ledgerentry GROUP BY movement) m
 WHERE l.movement = m.movement AND l.id <> m.keep;
"""

OPEN_LINES = """
INSERT INTO payments_openline (line_id)
SELECT id FROM payments_statementline WHERE status IN ('new', 'unmatched');
"""


def legs_balanced(apps, schema_editor):
    """Stop, naming them, if any old movement does not balance: the new rows could not hold it."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """SELECT order_id, movement, sum(amount) FROM payments_ledgerentry
                GROUP BY order_id, movement HAVING sum(amount) <> 0 LIMIT 20"""
        )
        wrong = cursor.fetchall()
    if wrong:
        raise RuntimeError(f"ledger movements that do not sum to zero (order, movement, sum): {wrong}")


class Migration(migrations.Migration):
    dependencies = [
        ("guarantees", "0005_faster_updates"),
        ("payments", "0002_faster_updates"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpenLine",
            fields=[
                (
                    "line",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="open",
                        serialize=False,
                        to="payments.statementline",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(OPEN_LINES),  # irreversible: the legs cannot be told apart again
        migrations.RemoveIndex(model_name="statementline", name="payments_st_status_26c570_idx"),
        migrations.RemoveField(model_name="statementline", name="order"),
        migrations.AddIndex(
            model_name="statementline",
            index=models.Index(fields=["issuer_code", "booked_at"], name="statement_line_by_issuer"),
        ),
        migrations.RunSQL(
            "ALTER TABLE payments_statementline SET (fillfactor = 50)",
            "ALTER TABLE payments_statementline RESET (fillfactor)",
        ),
        # The ledger, legs to movements.
        migrations.RemoveConstraint(model_name="ledgerentry", name="ledger_payment_leg_once"),
        migrations.RemoveConstraint(model_name="ledgerentry", name="ledger_payout_leg_once"),
        migrations.AddField(
            model_name="ledgerentry",
            name="cash",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=14),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="fee",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=14),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="premium",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=14),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="refunds_due",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=14),
        ),
        migrations.RunPython(legs_balanced),
        migrations.RunSQL(LEGS_TO_MOVEMENTS),
        migrations.RemoveField(model_name="ledgerentry", name="account"),
        migrations.RemoveField(model_name="ledgerentry", name="amount"),
        migrations.RemoveField(model_name="ledgerentry", name="movement"),
        migrations.AlterField(
            model_name="ledgerentry",
            name="kind",
            field=models.CharField(
                choices=[("payment_received", "收到付款"), ("refund_paid", "已退款"), ("surrender", "退保")],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.CheckConstraint(
                condition=Exact(models.F("cash") + models.F("premium") + models.F("fee") + models.F("refunds_due"), 0),
                name="ledger_movement_balances",
            ),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("payment__isnull", False), ("payout__isnull", True)),
                fields=("payment", "kind"),
                name="ledger_payment_movement_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("payout__isnull", False)),
                fields=("payout", "kind"),
                name="ledger_payout_movement_once",
            ),
        ),
    ]
