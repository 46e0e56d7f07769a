"""Development secrets are published (in ``settings/base.py``, the demo seeders and the README), so
production refuses them.

Two kinds:

- **Settings** (``DJANGO_SECRET_KEY`` and its fallbacks, ``BAOHAN_FIELD_KEYS``, ``BAOHAN_INDEX_KEY``,
  ``STRIPE_WEBHOOK_SECRET``): production settings refuse to load with any of them, so no process
  (``manage.py``, gunicorn, Celery) starts, and the message names the variable to set. The same
  verdict is a system check (``baohan.E001``…, error level, ``check --deploy``) for any other
  settings module that runs with DEBUG off.
- **Rows made by the demo seeders** (``seed_demo``, development only): API credentials with the
  secret ``dev-secret``, the hand-off key ``demo`` with its published secret, the trusted root
  「Baohan Demo CA」, the demo bidder and console passwords, the demo staff and issuer-workbench
  accounts' passwords (``seed_demo``). ``check --deploy --database default``
  looks for them in every centre's schema (``baohan.E010``…) and names the command that replaces each.

This module imports nothing from Django at load time: production settings call it before Django is set up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# The published development values (settings/base.py uses them when DEBUG is on).
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - published on purpose, refused in production
DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQta2V5LWNoYW5nZS1tZS0wMDA="
DEV_INDEX_KEY = "dev-only-index-key-change-me"
DEV_STRIPE_WEBHOOK_SECRET = "whsec_dev_only_baohan_published_in_the_readme"  # noqa: S105
# The demo seeders' rows (baohan/guarantees/services/demo.py, baohan/identity/services/demo.py,
# baohan/console/services.py).
DEV_CREDENTIAL_SECRET = "dev-secret"  # noqa: S105
DEV_HANDOFF_KEY_ID = "demo"
DEV_HANDOFF_SECRET = "dev-handoff-secret-published-in-the-readme"  # noqa: S105
DEV_CA_ROOT_NAME = "Baohan Demo CA"
DEV_PASSWORDS = {"demo": "demo-pass-2026"}  # per centre
DEV_CONSOLE_PASSWORDS = {"console": "console-pass-2026"}  # the platform's console
# seed_demo numbers a panel's issuers from 1 (the demo issuer accounts' phones); no panel has 99.
DEMO_ISSUER_INDEXES = range(1, 100)

HOW_TO_GENERATE = {
    "DJANGO_SECRET_KEY": 'python -c "import secrets; print(secrets.token_urlsafe(50))"',
    "DJANGO_SECRET_KEY_FALLBACKS": "remove the development key from the list",
    "BAOHAN_FIELD_KEYS": 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"',
    "BAOHAN_INDEX_KEY": 'python -c "import secrets; print(secrets.token_urlsafe(32))"',
    "STRIPE_WEBHOOK_SECRET": "the whsec_… secret Stripe shows for this endpoint (Dashboard → Developers → Webhooks)",
}


@dataclass(frozen=True)
class DevSecret:
    """A development secret in use: the variable (or command) that replaces it, and what it is."""

    variable: str
    what: str
    check_id: str
    fix: str = ""

    def message(self) -> str:
        how = HOW_TO_GENERATE.get(self.variable, "")
        fix = self.fix or f"set {self.variable} to a secret of your own" + (f" ({how})" if how else "")
        return f"{self.what} is the published development value: {fix}"


def _is_dev_secret_key(value: str) -> bool:
    return value == DEV_SECRET_KEY or value.startswith("django-insecure-")


def dev_secrets_in_settings(
    *,
    secret_key: str,
    secret_key_fallbacks: Sequence[str] = (),
    field_keys: Sequence[str] = (),
    index_key: str = "",
    stripe_webhook_secret: str = "",
) -> list[DevSecret]:
    """The published development values among these settings (empty values are not judged here)."""
    found = []
    if _is_dev_secret_key(secret_key):
        found.append(DevSecret("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY (Django's signing key)", "baohan.E001"))
    if any(_is_dev_secret_key(key) for key in secret_key_fallbacks):
        found.append(DevSecret("DJANGO_SECRET_KEY_FALLBACKS", "a key in DJANGO_SECRET_KEY_FALLBACKS", "baohan.E002"))
    if DEV_FIELD_KEY in field_keys:
        found.append(DevSecret("BAOHAN_FIELD_KEYS", "a key in BAOHAN_FIELD_KEYS (field encryption)", "baohan.E003"))
    if index_key == DEV_INDEX_KEY:
        found.append(DevSecret("BAOHAN_INDEX_KEY", "BAOHAN_INDEX_KEY (account-number digests)", "baohan.E004"))
    if stripe_webhook_secret == DEV_STRIPE_WEBHOOK_SECRET:
        found.append(DevSecret("STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET (Stripe webhooks)", "baohan.E005"))
    return found


def dev_secrets_of(conf: Any) -> list[DevSecret]:
    """The development values among a settings object's (``django.conf.settings`` or a module)."""
    return dev_secrets_in_settings(
        secret_key=str(getattr(conf, "SECRET_KEY", "") or ""),
        secret_key_fallbacks=[str(k) for k in getattr(conf, "SECRET_KEY_FALLBACKS", []) or []],
        field_keys=[str(k) for k in getattr(conf, "BAOHAN_FIELD_KEYS", []) or []],
        index_key=str(getattr(conf, "BAOHAN_INDEX_KEY", "") or ""),
        stripe_webhook_secret=str(getattr(conf, "STRIPE_WEBHOOK_SECRET", "") or ""),
    )


def refusal_text(found: Iterable[DevSecret]) -> str:
    return "production refuses development secrets: " + "; ".join(item.message() for item in found)


# --- rows made by the demo seeders ---------------------------------------------------------------------


def _credential_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def dev_rows_in_schema(*, centre: str) -> list[DevSecret]:
    """The demo seeders' secrets still active in the current centre's schema."""
    from django.contrib.auth import get_user_model

    from baohan.guarantees.models import ApiCredential
    from baohan.identity.models import HandoffKey, TrustedCaRoot

    found = []
    for key_id in ApiCredential.objects.filter(
        is_active=True, secret_hash=_credential_hash(DEV_CREDENTIAL_SECRET)
    ).values_list("key_id", flat=True):
        found.append(
            DevSecret(
                "",
                f"API credential {key_id} of centre {centre} (secret 「{DEV_CREDENTIAL_SECRET}」)",
                "baohan.E010",
                fix="issue a new one and end this one (console: credentials page, or manage.py api_credential)",
            )
        )
    for key in HandoffKey.objects.filter(is_active=True, key_id=DEV_HANDOFF_KEY_ID):
        try:
            published = key.secret == DEV_HANDOFF_SECRET
        except Exception:  # noqa: BLE001 - encrypted with a key no longer held: the row is unusable anyway
            published = True
        if published:
            found.append(
                DevSecret(
                    "",
                    f"hand-off key {DEV_HANDOFF_KEY_ID} of centre {centre}",
                    "baohan.E011",
                    fix="rotate it with the trading platform (console: credentials page, or manage.py handoff_key)",
                )
            )
    if TrustedCaRoot.objects.filter(is_active=True, name=DEV_CA_ROOT_NAME).exists():
        found.append(
            DevSecret(
                "",
                f"the trusted CA root 「{DEV_CA_ROOT_NAME}」 of centre {centre}",
                "baohan.E012",
                fix="end it on the console's credentials page and trust the real CA's root",
            )
        )
    found.extend(_dev_passwords(get_user_model(), DEV_PASSWORDS, where=f"centre {centre}"))
    found.extend(_dev_desk_passwords(centre=centre))
    return found


def _dev_desk_passwords(*, centre: str) -> list[DevSecret]:
    """The demo staff account and demo issuer-workbench accounts ``seed_demo`` made, still signing in
    with its published passwords. They are found by the phones the seeder gives them, so no other
    account's password is hashed here."""
    from baohan.identity.models import UserPhone
    from tenants.management.commands.seed_demo import (
        DEMO_ISSUER_PASSWORD,
        DEMO_STAFF_PASSWORD,
        DEMO_STAFF_PHONE,
        demo_issuer_phone,
    )

    phones = [DEMO_STAFF_PHONE, *(demo_issuer_phone(index) for index in DEMO_ISSUER_INDEXES)]
    found = []
    rows = (
        UserPhone.objects.filter(phone__in=phones, user__is_active=True)
        .select_related("user", "user__issuer_member")
        .order_by("phone")
    )
    for row in rows:
        member = getattr(row.user, "issuer_member", None)
        if row.phone == DEMO_STAFF_PHONE:
            password = DEMO_STAFF_PASSWORD
            what = f"the password of the demo staff account {row.phone} of centre {centre}"
            command = f"manage.py staff_user --centre {centre} --phone {row.phone}"
        elif member is not None:
            password = DEMO_ISSUER_PASSWORD
            issuer = member.issuer_code
            what = f"the password of the demo issuer account {row.phone} (issuer {issuer}) of centre {centre}"
            command = f"manage.py issuer_user --centre {centre} --issuer {issuer} --phone {row.phone}"
        else:  # a demo issuer's phone, no longer bound to an issuer
            password = DEMO_ISSUER_PASSWORD
            what = f"the password of the demo issuer account {row.phone} of centre {centre}"
            command = f"manage.py staff_user --centre {centre} --phone {row.phone}"
        if row.user.check_password(password):
            found.append(
                DevSecret(
                    "",
                    what,
                    "baohan.E013",
                    fix=f"set a new password ({command} --random-password) or deactivate the account (--deactivate)",
                )
            )
    return found


def _dev_passwords(user_model: Any, passwords: dict[str, str], *, where: str) -> list[DevSecret]:
    found = []
    for user in user_model.objects.filter(username__in=list(passwords), is_active=True):
        if user.check_password(passwords[user.username]):
            found.append(
                DevSecret(
                    "",
                    f"the password of user {user.username} ({where})",
                    "baohan.E013",
                    fix="set a new password (manage.py changepassword) or deactivate the user",
                )
            )
    return found


def dev_rows_everywhere() -> list[DevSecret]:
    """The demo seeders' secrets in the platform's schema and in every centre's."""
    from django.contrib.auth import get_user_model
    from django_tenants.utils import get_public_schema_name, get_tenant_model, tenant_context

    from tenants.db import connection

    connection.set_schema_to_public()
    found = _dev_passwords(get_user_model(), DEV_CONSOLE_PASSWORDS, where="the platform's console")
    tenants = get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).order_by("schema_name")
    for tenant in tenants:
        with tenant_context(tenant):
            found.extend(dev_rows_in_schema(centre=str(getattr(tenant, "code", tenant.schema_name))))
    connection.set_schema_to_public()
    return found


# --- system checks ---------------------------------------------------------------------------------------


def check_dev_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """``check --deploy``: an error per published development value in the settings (DEBUG off only)."""
    from django.conf import settings
    from django.core.checks import Error

    if settings.DEBUG:
        return []
    return [
        Error(item.message(), hint=f"Set {item.variable} in the environment.", id=item.check_id)
        for item in dev_secrets_of(settings)
    ]


def check_dev_rows(app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any) -> list[Any]:
    """``check --deploy --database default``: an error per demo secret left in the database."""
    from django.conf import settings
    from django.core.checks import Error

    if settings.DEBUG or not databases or "default" not in databases:
        return []
    return [Error(item.message(), id=item.check_id) for item in dev_rows_everywhere()]


def checks_register() -> None:
    from django.core.checks import Tags, register

    register(check_dev_settings, Tags.security, deploy=True)
    register(check_dev_rows, Tags.security, Tags.database, deploy=True)


# --- at start-up -------------------------------------------------------------------------------------------


def dev_rows_refuse_at_start() -> None:
    """Where settings ask for it (production: ``BAOHAN_DEV_ROWS_CHECK_AT_START``), a web process does not
    start while a demo seeder's secret is in the database. A database that cannot be reached is not a
    refusal (readiness reports it); the check runs again at the next start."""
    import logging

    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError, connections

    if settings.DEBUG or not getattr(settings, "BAOHAN_DEV_ROWS_CHECK_AT_START", False):
        return
    try:
        found = dev_rows_everywhere()
    except DatabaseError as exc:
        logging.getLogger(__name__).warning("development secrets not checked, database unavailable: %s", exc)
        return
    finally:
        for conn in connections.all(initialized_only=True):
            if not conn.in_atomic_block:  # forked or threaded workers open their own
                conn.close()
    if found:
        raise ImproperlyConfigured(refusal_text(found))
