"""The platform console: who sees which centre, onboarding from an upload, and pack changes that
are previewed against the centre's recent decisions, published, and rolled back."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists, tenant_context

from baohan.console.models import BulkOperation, ConsoleAction, ConsoleRole
from baohan.guarantees.models import Refund
from tenants.models import RulePackVersion, Tenant
from tests.api import bidder_api, centre_api, issuer_api, section_payload, sms_code, tenant
from tests.test_scenario_benxi import benxi_form

BENXI_CONSENTS = ["broker_notice", "clauses_read", "broker_documents_read"]

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)


def console_user(kind: str, code: str = "", issuer: str = "") -> tuple[User, Client]:
    connection.set_schema_to_public()
    user = User.objects.create_user(username=f"console{next(_serial)}", password="console-pass-2026")
    ConsoleRole.objects.create(
        user=user, kind=kind, tenant=Tenant.objects.get(code=code) if code else None, issuer_code=issuer
    )
    client = Client(HTTP_HOST="localhost")
    response = client.post("/console/login/", {"username": user.username, "password": "console-pass-2026"})
    assert response.status_code == 302, response.content.decode()[:300]
    return user, client


def text(response: Any) -> str:
    return response.content.decode()  # type: ignore[no-any-return]


def pack_text(code: str) -> str:
    return (Path(settings.REGIONS_DIR) / f"{code}.yaml").read_text(encoding="utf-8")


def test_console_needs_a_login_and_a_role() -> None:
    anonymous = Client(HTTP_HOST="localhost")
    response = anonymous.get("/console/")
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")
    User.objects.create_user(username="nobody", password="nobody-pass-2026")
    nobody = Client(HTTP_HOST="localhost")
    nobody.post("/console/login/", {"username": "nobody", "password": "nobody-pass-2026"})
    assert nobody.get("/console/").status_code == 403
    # The console is the platform's: a centre's host does not serve it.
    assert Client(HTTP_HOST="benxi.localhost").get("/console/").status_code == 404


def test_platform_admin_sees_every_centre_with_its_figures() -> None:
    _, admin = console_user("platform_admin")
    page = text(admin.get("/console/"))
    for code in ("xinjiang", "xuancheng", "benxi"):
        assert f'data-tenant="{code}"' in page
    assert "2026.12-1" in page


def test_centre_staff_see_only_their_own_centre() -> None:
    _, staff = console_user("centre_staff", "benxi")
    page = text(staff.get("/console/"))
    assert 'data-tenant="benxi"' in page
    assert 'data-tenant="xinjiang"' not in page
    assert staff.get("/console/centres/benxi/").status_code == 200
    for path in ("/console/centres/xinjiang/", "/console/centres/xinjiang/pack", "/console/centres/xinjiang/pack/1/"):
        assert staff.get(path).status_code == 404, path
    assert staff.post("/console/centres/xinjiang/pack/1/republish").status_code == 404
    # Onboarding and bulk operations are the platform admins'.
    assert staff.get("/console/centres/new").status_code == 403
    assert staff.get("/console/operations/").status_code == 403


def test_issuer_staff_cannot_change_the_centres_pack() -> None:
    _, issuer = console_user("issuer_staff", "benxi", "zijin")
    assert issuer.get("/console/centres/benxi/").status_code == 200
    response = issuer.post("/console/centres/benxi/pack/1/republish")
    assert response.status_code == 403
    # Nor replay the centre's decisions (every issuer's orders) in a preview.
    preview = issuer.post("/console/centres/benxi/pack", {"source": pack_text("benxi"), "action": "preview"})
    assert preview.status_code == 403


def fourth_pack(code: str) -> str:
    data = yaml.safe_load(pack_text("xuancheng"))
    data["centre"].update(code=code, name="河西市公共资源交易中心", site_title="河西市电子保函服务平台", theme=None)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def test_a_fourth_centre_is_onboarded_from_an_uploaded_pack() -> None:
    user, admin = console_user("platform_admin")
    bad = admin.post("/console/centres/new", {"source": "centre: [", "domains": "hexi.localhost"})
    assert bad.status_code == 400
    assert "未做任何改动" in text(bad)
    assert not Tenant.objects.filter(code="hexi").exists()

    upload = SimpleUploadedFile("hexi.yaml", fourth_pack("hexi").encode(), "application/x-yaml")
    response = admin.post("/console/centres/new", {"pack": upload, "domains": "hexi.localhost"})
    assert response.status_code == 302
    assert response["Location"] == "/console/centres/hexi/?onboarded=1"
    welcome = text(admin.get(response["Location"]))
    assert 'href="http://hexi.localhost/"' in welcome  # the new site's link, and the next steps
    assert "issuer_user --centre hexi" in welcome
    assert schema_exists("hexi")
    action = ConsoleAction.objects.get(action="tenant_onboard", tenant__code="hexi")
    assert (action.actor, action.detail["created"]) == (user, True)
    assert Client(HTTP_HOST="hexi.localhost").get("/").status_code == 200


def issued_with_refund(section: str) -> tuple[str, str, Any]:
    """A Xuancheng guarantee, issued, and a refund the pack allowed (the bidder gave up before opening)."""
    centre = centre_api("xuancheng")
    bidder, operator = bidder_api("xuancheng")
    centre.put(f"/api/v1/centre/sections/{section}", section_payload(project_type="construction"))
    form = {
        "operator_name": operator.name,
        "operator_phone": operator.phone,
        "captcha": "1234",
        "sms_code": sms_code(bidder, "xuancheng", operator.phone, "application"),
    }
    status, order = bidder.post(
        "/api/v1/orders/", {"section": section, "deposit_kind": "bid", "issuer_kind": "insurer", "form": form}
    )
    assert status == 201, order
    number = order["number"]
    bidder.post(f"/api/v1/orders/{number}/submit", {"consents": ["application_notice_authorisation"]})
    insurer = issuer_api("xuancheng", order["issuer_code"])
    insurer.post(f"/api/v1/issuer/orders/{number}/payment", {"outcome": "confirmed", "amount": order["premium"]})
    status, order = insurer.post(f"/api/v1/issuer/orders/{number}/issue", {})
    assert order["state"] == "issued", order
    status, refund = bidder.post(f"/api/v1/orders/{number}/refund", {"reason": "不再投标"})
    assert status == 201, refund
    return number, refund["number"], bidder


def test_a_pack_change_is_previewed_published_and_rolled_back() -> None:
    number, refund_number, bidder = issued_with_refund("XC-CONSOLE-001")
    xuancheng = Tenant.objects.get(code="xuancheng")
    live = xuancheng.current_rule_pack
    _, admin = console_user("platform_admin")

    # The change: a bidder giving up before opening is no longer refunded.
    data = yaml.safe_load(live.source_text)
    data["version"] = "2026.11-console"
    data["refund_rules"] = [r for r in data["refund_rules"] if r["code"] != "before_opening_abandon"]
    candidate = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)

    invalid = admin.post("/console/centres/xuancheng/pack", {"source": "version: 1\n", "action": "validate"})
    assert invalid.status_code == 400
    assert "centre" in text(invalid)

    preview = admin.post("/console/centres/xuancheng/pack", {"source": candidate, "action": "preview", "days": "30"})
    page = text(preview)
    assert preview.status_code == 200
    row = re.search(rf'<tr class="changed" data-kind="refund" data-subject="{refund_number}">(.*?)</tr>', page, re.S)
    assert row, "the refund that would now be refused is listed"
    assert "允许" in row.group(1)
    assert "不允许" in row.group(1)
    assert "before_opening_abandon" not in candidate
    assert "- code: before_opening_abandon" in page  # the diff shows the rule going
    assert RulePackVersion.objects.filter(tenant=xuancheng).count() == live.number  # nothing published yet

    # Publishing needs the preview of exactly this text, on the version in force.
    seen = {
        "previewed": re.search(r'name="previewed" value="([0-9a-f]{64})"', page).group(1),  # type: ignore[union-attr]
        "base": re.search(r'name="base" value="(\d+)"', page).group(1),  # type: ignore[union-attr]
    }
    refused = admin.post("/console/centres/xuancheng/pack", {"source": candidate, "action": "publish"})
    assert "请先预览" in text(refused)
    edited = candidate.replace("2026.11-console", "2026.11-console2")
    refused = admin.post("/console/centres/xuancheng/pack", {"source": edited, "action": "publish", **seen})
    assert "须重新预览" in text(refused)
    stale = admin.post(
        "/console/centres/xuancheng/pack", {"source": candidate, "action": "publish", **seen, "base": "999"}
    )
    assert "请重新预览" in text(stale)
    assert RulePackVersion.objects.filter(tenant=xuancheng).count() == live.number
    published = admin.post("/console/centres/xuancheng/pack", {"source": candidate, "action": "publish", **seen})
    assert published.status_code == 302
    xuancheng.refresh_from_db()
    assert xuancheng.current_rule_pack.label == "2026.11-console"
    new_number = xuancheng.current_rule_pack.number

    # New decisions follow the new pack; the refund already decided keeps its version and rule.
    _, eligibility = bidder.get(f"/api/v1/orders/{number}/refund-eligibility", trigger="bidder_abandons")
    assert (eligibility["rule_pack_version"], eligibility["rule_code"]) == (new_number, "")
    with tenant_context(tenant("xuancheng")):
        refund = Refund.objects.get(number=refund_number)
        assert (refund.rule_pack_version, refund.rule_code) == (live.number, "before_opening_abandon")

    # Roll back: the old pack again, as the newest version; decisions follow it again.
    # A rollback asks first: the confirmation page shows what changes; a POST without it changes nothing.
    confirm = admin.get(f"/console/centres/xuancheng/pack/{live.number}/republish")
    page = text(confirm)
    assert confirm.status_code == 200
    assert 'data-key="refund_rules[' in page  # the rule coming back, key by key
    assert f"V{new_number + 1}" in page
    for unconfirmed in ({}, {"base": str(new_number)}, {"confirm": "rollback", "base": str(new_number - 1)}):
        refused = admin.post(f"/console/centres/xuancheng/pack/{live.number}/republish", unconfirmed)
        assert refused.status_code == 400
        assert "未做任何改动" in text(refused)
        xuancheng.refresh_from_db()
        assert xuancheng.current_rule_pack.number == new_number
    assert RulePackVersion.objects.filter(tenant=xuancheng).count() == new_number
    rolled = admin.post(
        f"/console/centres/xuancheng/pack/{live.number}/republish", {"confirm": "rollback", "base": str(new_number)}
    )
    assert rolled.status_code == 302
    xuancheng.refresh_from_db()
    assert xuancheng.current_rule_pack.number == new_number + 1
    assert xuancheng.current_rule_pack.source_text == live.source_text
    _, eligibility = bidder.get(f"/api/v1/orders/{number}/refund-eligibility", trigger="bidder_abandons")
    assert (eligibility["rule_pack_version"], eligibility["rule_code"]) == (new_number + 1, "before_opening_abandon")
    with tenant_context(tenant("xuancheng")):
        refund = Refund.objects.get(number=refund_number)
        assert (refund.rule_pack_version, refund.rule_code) == (live.number, "before_opening_abandon")
    # Published versions are kept as they were.
    assert RulePackVersion.objects.get(tenant=xuancheng, number=new_number).label == "2026.11-console"
    actions = list(ConsoleAction.objects.filter(tenant=xuancheng).values_list("action", flat=True))
    assert actions[:2] == ["pack_rollback", "pack_publish"]
    # The action log in words, with what changed key by key.
    log = text(admin.get("/console/actions/"))
    assert f"发布规则包 V{new_number}（2026.11-console）" in log
    assert f"回滚规则包：V{live.number} 重新发布为 V{new_number + 1}" in log
    assert "new_version" not in log
    assert "{&#x27;" not in log
    assert "<del>" in log
    assert "before_opening_abandon" in log


def test_a_pack_cannot_rename_its_centre_from_the_console() -> None:
    _, admin = console_user("platform_admin")
    source = pack_text("benxi").replace("code: benxi", "code: benxi2", 1)
    response = admin.post("/console/centres/benxi/pack", {"source": source, "action": "preview"})
    assert response.status_code == 400
    assert "不能在此更改交易中心代码" in text(response)


def test_bulk_revalidation_from_the_console_shows_each_centres_result(
    django_capture_on_commit_callbacks: Any,
) -> None:
    _, admin = console_user("platform_admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/console/operations/", {"kind": "revalidate"})
    assert response.status_code == 302
    op = BulkOperation.objects.latest("id")
    assert (op.state, op.done, op.total) == ("done", op.total, Tenant.objects.exclude(schema_name="public").count())
    assert {r["code"] for r in op.results} >= {"xinjiang", "xuancheng", "benxi"}
    assert all(r["ok"] for r in op.results)
    page = text(admin.get("/console/operations/"))
    assert f'data-operation="{op.pk}" data-state="done"' in page
    assert 'data-centre="benxi" class="is-ok"' in page
    assert ConsoleAction.objects.filter(action="bulk_revalidate", detail__operation=op.pk).exists()
    # A broken pack (as after an engine upgrade that no longer reads it) is reported, the rest go on.
    benxi = Tenant.objects.get(code="benxi")
    RulePackVersion.objects.filter(pk=benxi.current_rule_pack_id).update(source_text="centre: {}\n")
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/console/operations/", {"kind": "revalidate"})
    op = BulkOperation.objects.latest("id")
    assert op.state == "failed"
    assert [r["ok"] for r in op.results if r["code"] == "benxi"] == [False]
    assert all(r["ok"] for r in op.results if r["code"] != "benxi")
    # One bulk operation at a time.
    running = BulkOperation.objects.create(kind="migrate", state="running", total=1)
    before = BulkOperation.objects.count()
    response = admin.post("/console/operations/", {"kind": "revalidate"}, follow=True)
    assert "已有批量操作在进行" in text(response)
    assert BulkOperation.objects.count() == before
    running.delete()


def test_bulk_operations_on_the_command_line_show_progress() -> None:
    out = io.StringIO()
    call_command("tenants_bulk", "migrate", stdout=out)
    lines = out.getvalue().splitlines()
    total = Tenant.objects.exclude(schema_name="public").count()
    assert any(line.startswith("[") and f"{total}/{total}" in line for line in lines), lines
    assert any("benxi: ok" in line for line in lines)
    assert lines[-1].endswith(f"all {total} centres done")


def test_console_users_are_made_on_the_command_line_with_checked_roles() -> None:
    out = io.StringIO()
    call_command(
        "console_user",
        "zijin-ops",
        "--role=issuer_staff",
        "--centre=benxi",
        "--issuer=zijin",
        "--password=zijin-pass-2026",
        stdout=out,
    )
    assert out.getvalue().strip() == "zijin-ops: 出函机构工作人员 (benxi)"
    role = ConsoleRole.objects.get(user__username="zijin-ops")
    assert (role.tenant.code, role.issuer_code) == ("benxi", "zijin")
    for bad, message in (
        (["--role=issuer_staff", "--centre=benxi", "--issuer=guoren"], "不在该中心的名单中"),
        (["--role=centre_staff", "--centre=nowhere"], "交易中心 nowhere 不存在"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("console_user", "someone", *bad, "--password=someone-pass-2026", stdout=io.StringIO())
    assert not User.objects.filter(username="someone").exists()
    client = Client(HTTP_HOST="localhost")
    client.post("/console/login/", {"username": "zijin-ops", "password": "zijin-pass-2026"})
    page = text(client.get("/console/"))
    assert 'data-tenant="benxi"' in page
    assert 'data-tenant="xinjiang"' not in page


def test_issuer_staff_see_only_their_own_orders() -> None:
    new = {"issuer_codes": ["zijin"], "deposit_kind": "bid", "issuer_kind": "insurer"}
    centre = centre_api("benxi")
    numbers = {}
    for issuer in ("zijin", "yongan"):
        code = f"BX-CONSOLE-{issuer}"
        centre.put(f"/api/v1/centre/sections/{code}", section_payload(project_type="housing", amount="10000.00"))
        bidder, _ = bidder_api("benxi")
        status, order = bidder.post(
            "/api/v1/orders/", {**new, "issuer_codes": [issuer], "section": code, "form": benxi_form()}
        )
        assert status == 201, order
        bidder.post(f"/api/v1/orders/{order['number']}/submit", {"consents": BENXI_CONSENTS})
        numbers[issuer] = order["number"]
    _, zijin = console_user("issuer_staff", "benxi", "zijin")
    page = text(zijin.get("/console/centres/benxi/orders/"))
    assert f'data-order="{numbers["zijin"]}"' in page
    assert f'data-order="{numbers["yongan"]}"' not in page
    _, staff = console_user("centre_staff", "benxi")
    page = text(staff.get("/console/centres/benxi/orders/"))
    assert f'data-order="{numbers["zijin"]}"' in page
    assert f'data-order="{numbers["yongan"]}"' in page
    assert zijin.get("/console/centres/xinjiang/orders/").status_code == 404


def test_the_action_log_shows_issuer_staff_only_their_own_actions() -> None:
    admin_user, _ = console_user("platform_admin")
    call_command(
        "console_user",
        "log-zijin",
        "--role=issuer_staff",
        "--centre=benxi",
        "--issuer=zijin",
        "--password=log-zijin-pass-2026",
        stdout=io.StringIO(),
    )
    benxi = Tenant.objects.get(code="benxi")
    ConsoleAction.objects.create(actor=admin_user, actor_label="admin", tenant=benxi, action="credential_issue")
    zijin = Client(HTTP_HOST="localhost")
    zijin.post("/console/login/", {"username": "log-zijin", "password": "log-zijin-pass-2026"})
    assert 'data-action="credential_issue"' not in text(zijin.get("/console/actions/"))
    _, staff = console_user("centre_staff", "benxi")
    assert 'data-action="credential_issue"' in text(staff.get("/console/actions/"))
    _, other = console_user("centre_staff", "xinjiang")
    assert 'data-action="credential_issue"' not in text(other.get("/console/actions/"))
