"""The console's integration credentials: API credentials rotated with an overlap, hand-off keys,
CA roots, a centre's own SMS and Stripe settings; secrets shown once and stored hashed or encrypted;
who may see and change what; every change recorded."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from baohan.console.credentials import SECRET_ONCE
from baohan.console.models import ConsoleAction, ConsoleRole
from baohan.guarantees.models import ApiCredential
from baohan.identity.democa import ca_create, enterprise_certificate_issue
from baohan.identity.integration_settings import sms_provider_config, stripe_secret_key, stripe_webhook_secrets
from baohan.identity.models import AccountEvent, HandoffKey, IntegrationSetting, TrustedCaRoot
from baohan.identity.services.logins import handoff_token_make
from baohan.identity.services.sms import sms_message_queue
from baohan.payments.services.online import WebhookRefused, webhook_event_verify
from tests.api import Api, phone_make, tenant, uscc_make
from tests.fake_stripe import event_payload, signature_header

pytestmark = pytest.mark.django_db

SECRET_SHOWN = re.compile(r"data-secret-once>([^<]+)<")
HANDOFF_ISSUER = "xjggzy"  # regions/xinjiang.yaml login.handoff.issuer


# --- helpers ---------------------------------------------------------------------------------------------


def console_user(name: str, kind: str, centre: str | None = None, issuer: str = "") -> User:
    connection.set_schema_to_public()
    user = User.objects.create_user(username=name, password="pw-console-1")
    ConsoleRole.objects.create(user=user, kind=kind, tenant=tenant(centre) if centre else None, issuer_code=issuer)
    return user


def console(user: User) -> Client:
    connection.set_schema_to_public()
    client = Client(HTTP_HOST="localhost")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def centre_staff(centre: str, name: str | None = None) -> Client:
    return console(console_user(name or f"{centre}-staff", ConsoleRole.Kind.CENTRE_STAFF, centre))


def page_url(centre: str) -> str:
    return f"/console/centres/{centre}/credentials/"


def post(client: Client, centre: str, path: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(f"{page_url(centre)}{path}", data or {})


def shown_secret(client: Client, centre: str) -> str:
    """The secret the page shows once after a change; the next view no longer shows it."""
    page = client.get(page_url(centre))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    found = SECRET_SHOWN.findall(page.content.decode())
    assert len(found) == 1, "the new secret is shown once"
    again = client.get(page_url(centre)).content.decode()
    assert "data-secret-once" not in again
    assert found[0] not in again
    return str(found[0])


def credential_of(centre: str, **lookup: Any) -> ApiCredential:
    with tenant_context(tenant(centre)):
        return ApiCredential.objects.get(**lookup)


def credential_by_token(centre: str, token: str) -> ApiCredential:
    return credential_of(centre, key_id=token.partition(".")[0])


def actions(centre: str) -> list[str]:
    connection.set_schema_to_public()
    return list(ConsoleAction.objects.filter(tenant=tenant(centre)).order_by("id").values_list("action", flat=True))


def api_status(centre: str, kind: str, token: str) -> int:
    """An authenticated call answers 200 (issuer orders) or 404 (an unknown section); a refused one 401."""
    api = Api(f"{centre}.localhost", f"Bearer {token}")
    path = "/api/v1/issuer/orders/" if kind == "issuer" else "/api/v1/centre/sections/NO-SUCH/guarantees"
    status, _ = api.get(path)
    return status


def later(hours: float) -> Any:
    return mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(hours=hours))


def raw(centre: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with tenant_context(tenant(centre)), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


# --- rotation with an overlap ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "issuer", "ok"), [("issuer", "guoren", 200), ("centre", "", 404)])
def test_a_rotated_credential_works_with_both_keys_during_the_overlap_and_only_the_new_one_after(
    kind: str, issuer: str, ok: int
) -> None:
    client = centre_staff("xinjiang")
    response = post(client, "xinjiang", "api/new", {"api-kind": kind, "api-issuer_code": issuer, "api-label": "测试"})
    assert (response.status_code, response["Location"]) == (302, page_url("xinjiang"))
    old_token = shown_secret(client, "xinjiang")
    assert api_status("xinjiang", kind, old_token) == ok
    old = credential_by_token("xinjiang", old_token)

    response = post(client, "xinjiang", f"api/{old.pk}/rotate", {f"rot{old.pk}-overlap_hours": "24"})
    assert response.status_code == 302
    new_token = shown_secret(client, "xinjiang")
    new = credential_by_token("xinjiang", new_token)
    assert (new.kind, new.issuer_code, new.label) == (kind, issuer, "测试")
    old = credential_of("xinjiang", pk=old.pk)
    assert old.replaced_by_id == new.pk
    assert old.expires_at is not None
    assert timedelta(hours=23, minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=24)

    # During the overlap both tokens authenticate.
    assert api_status("xinjiang", kind, old_token) == ok
    assert api_status("xinjiang", kind, new_token) == ok
    with later(23):
        assert api_status("xinjiang", kind, old_token) == ok
    # After it, only the new one.
    with later(25):
        assert api_status("xinjiang", kind, old_token) == 401
        assert api_status("xinjiang", kind, new_token) == ok
    page = client.get(page_url("xinjiang")).content.decode()
    assert f'data-credential="{old.key_id}" data-state="overlap"' in page
    assert f'data-credential="{new.key_id}" data-state="active"' in page
    assert actions("xinjiang") == ["api_credential_create", "api_credential_rotate"]
    connection.set_schema_to_public()
    rotate = ConsoleAction.objects.filter(tenant=tenant("xinjiang")).first()
    assert rotate is not None
    assert rotate.detail["key_id"] == old.key_id
    assert rotate.detail["new_key_id"] == new.key_id
    assert old_token not in str(rotate.detail)
    assert new_token not in str(rotate.detail)


def test_a_revoked_or_zero_overlap_credential_is_refused_at_once() -> None:
    client = centre_staff("xinjiang")
    post(client, "xinjiang", "api/new", {"api-kind": "issuer", "api-issuer_code": "guoren"})
    first = shown_secret(client, "xinjiang")
    pk = credential_by_token("xinjiang", first).pk
    assert post(client, "xinjiang", f"api/{pk}/rotate", {f"rot{pk}-overlap_hours": "0"}).status_code == 302
    second = shown_secret(client, "xinjiang")
    assert api_status("xinjiang", "issuer", first) == 401
    assert api_status("xinjiang", "issuer", second) == 200
    second_pk = credential_by_token("xinjiang", second).pk
    assert post(client, "xinjiang", f"api/{second_pk}/revoke").status_code == 302
    assert api_status("xinjiang", "issuer", second) == 401
    assert actions("xinjiang") == ["api_credential_create", "api_credential_rotate", "api_credential_revoke"]


def test_a_rotated_hand_off_key_is_accepted_during_the_overlap_and_refused_after() -> None:
    client = centre_staff("xinjiang")
    assert post(client, "xinjiang", "handoff/new", {"hk-key_id": "kold"}).status_code == 302
    old_secret = shown_secret(client, "xinjiang")
    with tenant_context(tenant("xinjiang")):
        old = HandoffKey.objects.get(key_id="kold")
    response = post(
        client,
        "xinjiang",
        f"handoff/{old.pk}/rotate",
        {f"hrot{old.pk}-new_key_id": "knew", f"hrot{old.pk}-overlap_hours": "24"},
    )
    assert response.status_code == 302
    new_secret = shown_secret(client, "xinjiang")
    assert new_secret != old_secret

    def token(k: int, key_id: str, secret: str) -> str:
        with tenant_context(tenant("xinjiang")):
            return handoff_token_make(
                key_id=key_id,
                secret=secret,
                issuer=HANDOFF_ISSUER,
                uscc=uscc_make(970000 + k),
                name=f"新疆轮换测试有限公司{k}",
                operator={"name": "王经办", "phone": phone_make(970000 + k)},
            )

    def login(token: str) -> Any:
        connection.set_schema_to_public()
        return Client(HTTP_HOST="xinjiang.localhost").get("/login/handoff", {"token": token})

    # During the overlap tokens of both keys are accepted.
    assert login(token(1, "kold", old_secret)).status_code == 302
    assert login(token(2, "knew", new_secret)).status_code == 302
    # After it (tokens made now, checked a day later) only the new key's.
    old_late, new_late = token(3, "kold", old_secret), token(4, "knew", new_secret)
    with later(25):
        refused = login(old_late)
        accepted = login(new_late)
    assert refused.status_code == 403
    assert "登录凭证的签名密钥已停用" in refused.content.decode()
    assert accepted.status_code == 302
    assert actions("xinjiang") == ["handoff_key_add", "handoff_key_rotate"]


# --- secrets: shown once, stored hashed or encrypted ----------------------------------------------------------


def test_secrets_are_shown_once_and_stored_hashed_or_encrypted() -> None:
    client = centre_staff("benxi")
    post(client, "benxi", "api/new", {"api-kind": "issuer", "api-issuer_code": "zijin"})
    # Until the page shows it, the token waits in the session encrypted.
    assert str(client.session[SECRET_ONCE]["value"]).startswith("fernet:")
    token = shown_secret(client, "benxi")
    key_id, _, secret = token.partition(".")
    stored = raw("benxi", "SELECT secret_hash FROM guarantees_apicredential WHERE key_id = %s", key_id)
    assert stored == [(hashlib.sha256(secret.encode()).hexdigest(),)]
    assert SECRET_ONCE not in client.session

    post(client, "benxi", "handoff/new", {"hk-key_id": "bx1"})
    handoff_secret = shown_secret(client, "benxi")
    [(value,)] = raw("benxi", "SELECT secret FROM identity_handoffkey WHERE key_id = %s", "bx1")
    assert value.startswith("fernet:")
    assert handoff_secret not in value

    stripe_key, hook = "sk_test_" + "k" * 20 + "WXYZ", "whsec_" + "h" * 20 + "ABCD"
    response = post(
        client,
        "benxi",
        "stripe",
        {"stripe-secret_key": stripe_key, "stripe-webhook_secret": hook, "stripe-overlap_hours": "24"},
    )
    assert response.status_code == 302
    for (value,) in raw("benxi", "SELECT value FROM identity_integrationsetting"):
        assert value.startswith("fernet:")
        assert stripe_key not in value
        assert hook not in value
    page = client.get(page_url("benxi")).content.decode()
    assert "****WXYZ" in page
    assert "****ABCD" in page
    assert stripe_key not in page
    assert hook not in page
    assert "data-secret-once" not in page
    with tenant_context(tenant("benxi")):
        assert stripe_secret_key() == stripe_key


# --- who may see and change what -------------------------------------------------------------------------------


def test_centre_staff_of_benxi_cannot_see_or_rotate_xinjiangs_credentials() -> None:
    xinjiang = centre_staff("xinjiang")
    post(xinjiang, "xinjiang", "api/new", {"api-kind": "centre"})
    token = shown_secret(xinjiang, "xinjiang")
    credential = credential_by_token("xinjiang", token)
    before = actions("xinjiang")

    benxi = centre_staff("benxi")
    assert benxi.get(page_url("xinjiang")).status_code == 404
    assert (
        post(benxi, "xinjiang", f"api/{credential.pk}/rotate", {f"rot{credential.pk}-overlap_hours": "1"}).status_code
        == 404
    )
    assert post(benxi, "xinjiang", f"api/{credential.pk}/revoke").status_code == 404
    assert post(benxi, "xinjiang", "api/new", {"api-kind": "centre"}).status_code == 404
    after = credential_of("xinjiang", pk=credential.pk)
    assert (after.is_active, after.expires_at, after.replaced_by_id) == (True, None, None)
    with tenant_context(tenant("xinjiang")):
        assert ApiCredential.objects.filter(replaced_by__isnull=True, is_active=True, pk__gt=credential.pk).count() == 0
    assert actions("xinjiang") == before
    assert api_status("xinjiang", "centre", token) == 404


def test_issuer_staff_see_and_rotate_only_their_own_issuers_credential() -> None:
    admin = centre_staff("benxi")
    tokens = {}
    for issuer in ("zijin", "yongan"):
        post(admin, "benxi", "api/new", {"api-kind": "issuer", "api-issuer_code": issuer})
        tokens[issuer] = shown_secret(admin, "benxi")
    post(admin, "benxi", "api/new", {"api-kind": "centre"})
    centre_token = shown_secret(admin, "benxi")
    zijin, yongan = (credential_by_token("benxi", tokens[i]) for i in ("zijin", "yongan"))
    centre = credential_by_token("benxi", centre_token)

    staff = console(console_user("zijin-staff", ConsoleRole.Kind.ISSUER_STAFF, "benxi", "zijin"))
    page = staff.get(page_url("benxi"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-credential="{zijin.key_id}"' in html
    assert yongan.key_id not in html
    assert centre.key_id not in html
    for hidden in (
        'id="handoff-keys"',
        'id="ca-roots"',
        'id="sms-settings"',
        'id="stripe-settings"',
        'id="api-create"',
    ):
        assert hidden not in html
    before = actions("benxi")
    for pk in (yongan.pk, centre.pk):
        assert post(staff, "benxi", f"api/{pk}/rotate", {f"rot{pk}-overlap_hours": "1"}).status_code == 404
    assert post(staff, "benxi", "api/new", {"api-kind": "issuer", "api-issuer_code": "zijin"}).status_code == 403
    assert post(staff, "benxi", f"api/{zijin.pk}/revoke").status_code == 403
    assert post(staff, "benxi", "handoff/new", {"hk-key_id": "x1"}).status_code == 403
    assert actions("benxi") == before

    assert post(staff, "benxi", f"api/{zijin.pk}/rotate", {f"rot{zijin.pk}-overlap_hours": "2"}).status_code == 302
    new_token = shown_secret(staff, "benxi")
    assert credential_by_token("benxi", new_token).issuer_code == "zijin"
    assert actions("benxi") == [*before, "api_credential_rotate"]
    assert (credential_of("benxi", pk=yongan.pk).expires_at, credential_of("benxi", pk=centre.pk).expires_at) == (
        None,
        None,
    )


# --- bad input ----------------------------------------------------------------------------------------------------


def snapshot(centre: str) -> dict[str, Any]:
    with tenant_context(tenant(centre)):
        state = {
            "credentials": list(ApiCredential.objects.order_by("pk").values_list("pk", "is_active", "expires_at")),
            "roots": list(TrustedCaRoot.objects.order_by("pk").values_list("pk", "is_active")),
            "keys": list(HandoffKey.objects.order_by("pk").values_list("pk", "is_active", "retire_at")),
            "settings": IntegrationSetting.objects.count(),
            "events": AccountEvent.objects.count(),
        }
    state["actions"] = actions(centre)
    return state


def field_error(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}_error" role="alert">([^<]*)</p>', html)
    assert found, f"no error beside {field_id}"
    return found.group(1)


def test_bad_input_is_refused_beside_its_field_and_changes_nothing() -> None:
    client = centre_staff("benxi")
    post(client, "benxi", "api/new", {"api-kind": "centre"})
    credential = credential_by_token("benxi", shown_secret(client, "benxi"))
    before = snapshot("benxi")

    response = post(client, "benxi", "api/new", {"api-kind": "issuer", "api-issuer_code": "no-such-issuer"})
    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_api-issuer_code") == "本中心没有该出函机构"

    response = post(
        client,
        "benxi",
        "ca-roots/new",
        {"ca-name": "坏证书", "ca-pem": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert field_error(html, "id_ca-pem") == "不是有效的 PEM 格式证书"
    assert "坏证书" in html  # the form keeps what was typed

    leaf = enterprise_certificate_issue(ca=ca_create(name="本溪测试CA"), uscc=uscc_make(980001), name="本溪测试")
    response = post(client, "benxi", "ca-roots/new", {"ca-name": "非CA证书", "ca-pem": leaf.certificate_pem()})
    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_ca-pem") == "证书不是 CA 证书"

    response = post(client, "benxi", f"api/{credential.pk}/rotate", {f"rot{credential.pk}-overlap_hours": "-1"})
    assert response.status_code == 400
    assert field_error(response.content.decode(), f"id_rot{credential.pk}-overlap_hours")

    response = post(
        client,
        "benxi",
        "stripe",
        {
            "stripe-secret_key": "pk_live_wrong_kind_of_key",
            "stripe-webhook_secret": "whsec_x" * 3,
            "stripe-overlap_hours": "24",
        },
    )
    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_stripe-secret_key") == "Secret key 应以 sk_ 或 rk_ 开头"
    assert "pk_live_wrong_kind_of_key" not in response.content.decode()  # a secret is never sent back

    response = post(
        client,
        "benxi",
        "sms",
        {
            "sms-provider": "aliyun",
            "sms-key_id": "LTAI-id-000001",
            "sms-key_secret": "s" * 30,
            "sms-sign_name": "本溪",
            "sms-templates": "{not json",
        },
    )
    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_sms-templates").startswith("短信模板不是有效的 JSON")

    response = post(client, "benxi", "handoff/new", {"hk-key_id": "bad kid!"})
    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_hk-key_id")
    assert snapshot("benxi") == before


# --- CA roots, SMS and Stripe settings ---------------------------------------------------------------------------


def test_ca_roots_are_added_and_removed() -> None:
    client = centre_staff("xuancheng")
    ca = ca_create(name="宣城控制台测试CA")
    assert (
        post(client, "xuancheng", "ca-roots/new", {"ca-name": "控制台CA", "ca-pem": ca.certificate_pem()}).status_code
        == 302
    )
    with tenant_context(tenant("xuancheng")):
        root = TrustedCaRoot.objects.get(name="控制台CA")
    assert root.is_active
    assert root.fingerprint_sha256[:16] in client.get(page_url("xuancheng")).content.decode()
    assert post(client, "xuancheng", f"ca-roots/{root.pk}/remove").status_code == 302
    with tenant_context(tenant("xuancheng")):
        assert not TrustedCaRoot.objects.get(pk=root.pk).is_active
    assert actions("xuancheng") == ["ca_root_add", "ca_root_remove"]


def test_a_centres_own_sms_and_stripe_settings_are_preferred_to_the_platforms(settings: Any) -> None:
    settings.SMS_PROVIDER = {"provider": "outbox"}
    settings.STRIPE_SECRET_KEY = "sk_test_platform"
    client = centre_staff("benxi")
    templates = '{"verification_code": "SMS_000001"}'
    data = {
        "sms-provider": "aliyun",
        "sms-key_id": "LTAI-benxi-0001",
        "sms-key_secret": "secret-benxi-ABCD1234",
        "sms-sign_name": "本溪保函",
        "sms-templates": templates,
    }
    assert post(client, "benxi", "sms", data).status_code == 302
    with tenant_context(tenant("benxi")):
        config = dict(sms_provider_config())
    assert config == {
        "provider": "aliyun",
        "access_key_id": "LTAI-benxi-0001",
        "access_key_secret": "secret-benxi-ABCD1234",
        "sign_name": "本溪保函",
        "templates": {"verification_code": "SMS_000001"},
    }
    with tenant_context(tenant("xinjiang")):
        assert dict(sms_provider_config()) == {"provider": "outbox"}
        assert stripe_secret_key() == "sk_test_platform"
    page = client.get(page_url("benxi")).content.decode()
    assert "secret-benxi-ABCD1234" not in page
    assert "****1234" in page
    assert "本溪保函" in page

    # Saved again with the keys left blank: they are kept.
    assert (
        post(
            client, "benxi", "sms", {**data, "sms-key_id": "", "sms-key_secret": "", "sms-sign_name": "本溪保函2"}
        ).status_code
        == 302
    )
    with tenant_context(tenant("benxi")):
        assert sms_provider_config()["access_key_secret"] == "secret-benxi-ABCD1234"
        assert sms_provider_config()["sign_name"] == "本溪保函2"

    old_hook, new_hook = "whsec_" + "o" * 24, "whsec_" + "n" * 24
    stripe = {
        "stripe-secret_key": "sk_test_benxi_000000",
        "stripe-webhook_secret": old_hook,
        "stripe-overlap_hours": "24",
    }
    assert post(client, "benxi", "stripe", stripe).status_code == 302
    assert (
        post(
            client, "benxi", "stripe", {**stripe, "stripe-secret_key": "", "stripe-webhook_secret": new_hook}
        ).status_code
        == 302
    )
    with tenant_context(tenant("benxi")):
        assert stripe_secret_key() == "sk_test_benxi_000000"
        assert stripe_webhook_secrets() == [new_hook, old_hook]
        assert stripe_webhook_secrets(now=timezone.now() + timedelta(hours=25)) == [new_hook]
        # Events signed with the replaced webhook secret are accepted during the overlap, refused after.
        payload = event_payload("ping", {"id": "x"})
        old_signed, new_signed = signature_header(payload, old_hook), signature_header(payload, new_hook)
        assert webhook_event_verify(payload=payload, signature=old_signed).type == "ping"
        with later(25):
            assert webhook_event_verify(payload=payload, signature=new_signed).type == "ping"
            with pytest.raises(WebhookRefused):
                webhook_event_verify(payload=payload, signature=old_signed)
        # The centre's texts go through its own provider.
        message = sms_message_queue(phone=phone_make(990001), template="verification_code", params={}, text="x")
        assert (message.backend, message.text) == ("aliyun", "")

    assert post(client, "benxi", "sms/clear").status_code == 302
    with tenant_context(tenant("benxi")):
        assert dict(sms_provider_config()) == {"provider": "outbox"}
    assert actions("benxi") == [
        "sms_settings_set",
        "sms_settings_set",
        "stripe_settings_set",
        "stripe_settings_set",
        "sms_settings_clear",
    ]
    with tenant_context(tenant("benxi")):
        kinds = list(AccountEvent.objects.filter(actor_kind="console").order_by("id").values_list("kind", flat=True))
    assert kinds == ["integration_settings_set"] * 4 + ["integration_settings_cleared"]


def test_every_console_change_is_recorded() -> None:
    client = centre_staff("xinjiang")
    post(client, "xinjiang", "api/new", {"api-kind": "centre"})
    pk = credential_by_token("xinjiang", shown_secret(client, "xinjiang")).pk
    post(client, "xinjiang", f"api/{pk}/rotate", {f"rot{pk}-overlap_hours": "24"})
    post(client, "xinjiang", f"api/{pk}/revoke")
    post(client, "xinjiang", "handoff/new", {})
    with tenant_context(tenant("xinjiang")):
        key = HandoffKey.objects.order_by("-pk").first()
    assert key is not None
    post(client, "xinjiang", f"handoff/{key.pk}/rotate", {f"hrot{key.pk}-overlap_hours": "1"})
    post(client, "xinjiang", f"handoff/{key.pk}/revoke")
    assert actions("xinjiang") == [
        "api_credential_create",
        "api_credential_rotate",
        "api_credential_revoke",
        "handoff_key_add",
        "handoff_key_rotate",
        "handoff_key_revoke",
    ]
    connection.set_schema_to_public()
    assert {a.actor_label for a in ConsoleAction.objects.filter(tenant=tenant("xinjiang"))} == {"xinjiang-staff"}
    with tenant_context(tenant("xinjiang")):
        kinds = list(AccountEvent.objects.filter(actor_kind="console").order_by("id").values_list("kind", flat=True))
    assert kinds == [
        "api_credential_created",
        "api_credential_rotated",
        "api_credential_revoked",
        "handoff_key_added",
        "handoff_key_rotated",
        "handoff_key_revoked",
    ]
    # Revoking the old key again is refused with a message, and recorded nowhere.
    response = post(client, "xinjiang", f"handoff/{key.pk}/revoke")
    assert response.status_code == 302
    assert len(actions("xinjiang")) == 6
