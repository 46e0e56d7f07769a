"""Demo identities for ``make run``: a hand-off key with a published secret, and a demo CA whose
root the centre trusts, with an enterprise certificate and key a stand-in driver signs with.

Development only: ``seed_demo`` refuses with DEBUG off, and the dev pages answer 404.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from baohan.identity.democa import demo_ca_ensure
from baohan.identity.models import HandoffKey
from baohan.identity.services.logins import ca_root_trust, handoff_key_set, handoff_token_make
from baohan.rulepacks.models import LoginMethod, RulePack
from tenants.selectors import pack_in_force

DEMO_HANDOFF_KEY_ID = "demo"
DEMO_HANDOFF_SECRET = "dev-handoff-secret-published-in-the-readme"  # noqa: S105 - development only
DEMO_USCC = "91350100M000100Y43"
DEMO_ENTERPRISE = "示例建设工程有限公司"


def demo_ca_directory() -> Path:
    return Path(settings.ROOT_DIR) / ".data" / "demo-ca"


def demo_ca_paths() -> dict[str, str]:
    directory = demo_ca_directory()
    return {
        "ca": str(directory / "ca.pem"),
        "enterprise": str(directory / "enterprise.pem"),
        "enterprise_key": str(directory / "enterprise-key.pem"),
    }


def demo_ca_material() -> tuple[str, str]:
    """The demo enterprise certificate and its PKCS#8 key, as PEM."""
    _, issued = demo_ca_ensure(directory=demo_ca_directory(), uscc=DEMO_USCC, name=DEMO_ENTERPRISE)
    return issued.certificate_pem(), issued.private_key_pkcs8_pem()


def demo_identity_seed(*, pack: RulePack) -> list[str]:
    created: list[str] = []
    if (
        LoginMethod.PLATFORM_HANDOFF in pack.login.methods
        and not HandoffKey.objects.filter(key_id=DEMO_HANDOFF_KEY_ID).exists()
    ):
        handoff_key_set(key_id=DEMO_HANDOFF_KEY_ID, secret=DEMO_HANDOFF_SECRET)
        created.append(f"hand-off key {DEMO_HANDOFF_KEY_ID} (secret {DEMO_HANDOFF_SECRET})")
    if LoginMethod.CA_KEY in pack.login.methods:
        ca, _ = demo_ca_ensure(directory=demo_ca_directory(), uscc=DEMO_USCC, name=DEMO_ENTERPRISE)
        row = ca_root_trust(name="Baohan Demo CA", pem=ca.certificate_pem())
        created.append(f"trusted CA root {row.name} ({demo_ca_paths()['ca']})")
    return created


def demo_handoff_link(*, request: HttpRequest) -> str:
    """A fresh hand-off link as the trading platform would make it (valid five minutes, once)."""
    token = demo_handoff_token()
    if not token:
        return ""
    return request.build_absolute_uri(reverse("identity_handoff")) + f"?token={token}"


def demo_handoff_token() -> str:
    """A fresh hand-off token for the demo enterprise, as the trading platform would sign it; empty when the
    centre takes no hand-off or its demo key is missing."""
    pack, _ = pack_in_force()
    if pack.login.handoff is None:
        return ""
    key = HandoffKey.objects.filter(key_id=DEMO_HANDOFF_KEY_ID).first()
    if key is None:
        return ""
    return handoff_token_make(
        key_id=key.key_id,
        secret=key.secret,
        issuer=pack.login.handoff.issuer,
        uscc=DEMO_USCC,
        name=DEMO_ENTERPRISE,
        operator={"name": "张经办", "phone": "13800000000"},
        lifetime_seconds=pack.login.handoff.max_lifetime_seconds,
    )
