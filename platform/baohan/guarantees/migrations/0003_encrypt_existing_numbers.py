"""Encrypt ID and bank account numbers stored before their columns were encrypted."""

from django.db import migrations

COLUMNS = [
    ("guarantees_enterprise", "basic_account_number"),
    ("guarantees_refund", "account_number"),
    ("guarantees_invoicetitle", "bank_account"),
    ("guarantees_invoice", "bank_account"),
]


def encrypt_plaintext(apps, schema_editor):
    from baohan.identity.fields import PREFIX, encrypt

    with schema_editor.connection.cursor() as cursor:
        for table, column in COLUMNS:
            cursor.execute(
                f'SELECT id, "{column}" FROM "{table}" WHERE "{column}" <> %s AND "{column}" NOT LIKE %s',
                ["", PREFIX + "%"],
            )
            for pk, value in cursor.fetchall():
                cursor.execute(f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s', [encrypt(value), pk])


class Migration(migrations.Migration):
    dependencies = [("guarantees", "0002_enterprise_address_enterprise_legal_rep_id_number_and_more")]

    operations = [migrations.RunPython(encrypt_plaintext, migrations.RunPython.noop)]
