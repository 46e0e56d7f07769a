"""Demo data for ``make run``: a bidder and API credentials with fixed, well-known secrets.

Only for development (the command refuses when DEBUG is off): the README's example calls use them.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from baohan.guarantees.api.auth import credential_create
from baohan.guarantees.models import ApiCredential
from baohan.guarantees.services.accounts import bidder_register
from baohan.identity.models import UserPhone
from baohan.rulepacks.models import RulePack

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - a published development password
DEMO_USCC = "91350100M000100Y43"
DEMO_PHONE = "13800000000"


def demo_accounts_seed(*, pack: RulePack, centre: str) -> list[str]:
    """Create the demo bidder and credentials once; returns what was created."""
    created = []
    if not get_user_model().objects.filter(username="demo").exists():
        bidder_register(
            username="demo",
            password=DEMO_PASSWORD,
            enterprise_name="示例建设工程有限公司",
            uscc=DEMO_USCC,
            operator_name="张经办",
            phone=DEMO_PHONE,
            email="demo@example.com",
            basic_account_name="示例建设工程有限公司",
            basic_bank_name="中国建设银行",
            basic_account_number="6217000000000000001",
        )
        created.append("bidder demo")
    demo = get_user_model().objects.get(username="demo")
    if not UserPhone.objects.filter(phone=DEMO_PHONE).exists():  # demo data made before phone logins
        UserPhone.objects.update_or_create(user=demo, defaults={"phone": DEMO_PHONE, "verified": True})
    wanted = [("centre", "", f"dev-{centre}-centre")] + [
        ("issuer", i.code, f"dev-{centre}-{i.code}") for i in pack.issuers
    ]
    for kind, issuer, key_id in wanted:
        if not ApiCredential.objects.filter(key_id=key_id[:32]).exists():
            credential_create(kind=kind, issuer_code=issuer, key_id=key_id[:32], secret="dev-secret", label=key_id)  # noqa: S106
            created.append(f"credential {key_id[:32]}.dev-secret")
    return created
