"""The console's staff accounts page: a centre's staff and its issuers' staff made, updated, given a
new password and switched off in the console, through the same services as the ``staff_user`` and
``issuer_user`` commands; the password shown once; who may do it; a refusal changes nothing; nothing
of another centre."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from baohan.console.audit import action_describe
from baohan.console.models import ConsoleAction, ConsoleRole
from baohan.guarantees.errors import InvalidInput
from baohan.identity.models import AccountEvent, UserPhone
from baohan.identity.services.staff import staff_account_upsert
from baohan.issuerdesk.models import IssuerMember
from baohan.issuerdesk.services import issuer_account_upsert
from tests.api import outbox_code, tenant
from tests.money import in_centre
from tests.test_console_credentials import centre_staff, console, console_user

pytestmark = pytest.mark.django_db

PASSWORD_SHOWN = re.compile(r"data-secret-once>([^<]+)<")
_names = itertools.count(1)
_phones = itertools.count(1)


def phone_make() -> str:
    return f"137{next(_phones):08d}"


def page_url(centre: str) -> str:
    return f"/console/centres/{centre}/users/"


def platform_admin() -> Client:
    return console(console_user(f"admin-{next(_names)}", ConsoleRole.Kind.PLATFORM_ADMIN))


def save(client: Client, centre: str, **fields: Any) -> Any:
    data = {f"acct-{key}": value for key, value in fields.items()}
    return client.post(f"{page_url(centre)}save", data)


def shown_password(client: Client, centre: str) -> str:
    page = client.get(page_url(centre))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    found = PASSWORD_SHOWN.findall(page.content.decode())
    assert len(found) == 1, "the new password is shown once"
    again = client.get(page_url(centre)).content.decode()
    assert found[0] not in again
    return str(found[0])


def accounts(centre: str) -> list[tuple[str, str, str, bool, str]]:
    """(phone, name, issuer, active, password hash) of every staff account of the centre."""

    def read() -> list[tuple[str, str, str, bool, str]]:
        rows = []
        for row in UserPhone.objects.filter(user__is_staff=True).select_related("user").order_by("phone"):
            member = IssuerMember.objects.filter(user=row.user).first()
            issuer = member.issuer_code if member else ""
            rows.append((row.phone, row.user.first_name, issuer, row.user.is_active, row.user.password))
        return rows

    return in_centre(centre, read)


def user_pk(centre: str, phone: str) -> int:
    return int(in_centre(centre, lambda: UserPhone.objects.get(phone=phone).user_id))


def issuer_sign_in(centre: str, phone: str, password: str) -> Any:
    client = Client(HTTP_HOST=f"{centre}.localhost")
    response = client.post("/issuer/login/", {"phone": phone, "password": password})
    if response.status_code != 302 or not response["Location"].startswith("/issuer/login/code/"):
        return response
    return client.post(response["Location"], {"code": outbox_code(centre, phone)})


def staff_sign_in(centre: str, phone: str, password: str) -> Any:
    return Client(HTTP_HOST=f"{centre}.localhost").post("/staff/login/", {"phone": phone, "password": password})


def test_an_issuer_account_made_in_the_console_signs_in_on_the_workbench_with_password_and_sms() -> None:
    admin = platform_admin()
    phone = phone_make()
    response = save(admin, "benxi", kind="issuer", issuer="zijin", name="王审核", phone=phone)
    assert response.status_code == 302, response.content.decode()[:800]
    password = shown_password(admin, "benxi")
    assert [row[:4] for row in accounts("benxi") if row[0] == phone] == [(phone, "王审核", "zijin", True)]
    signed_in = issuer_sign_in("benxi", phone, password)
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/issuer/")
    # the account lives in Benxi's schema only
    assert not any(row[0] == phone for row in accounts("xinjiang"))
    assert issuer_sign_in("xinjiang", phone, password).status_code != 302
    # the log says it in words, with the person and the issuer, and no password
    connection.set_schema_to_public()
    action = ConsoleAction.objects.filter(action="user_account_create", tenant=tenant("benxi")).latest("created_at")
    words = action_describe(action)
    assert "出函机构工作人员" in words.title, words.title
    assert "王审核" in words.title, words.title
    assert password not in str(action.detail)
    assert phone not in str(action.detail)
    created = in_centre(
        "benxi", lambda: AccountEvent.objects.filter(kind="issuer_account_create", data__issuer="zijin").count()
    )
    assert created >= 1


def test_a_centre_staff_account_made_by_the_centre_signs_in_on_the_staff_pages() -> None:
    staff = centre_staff("xuancheng", f"xc-staff-{next(_names)}")
    phone = phone_make()
    assert save(staff, "xuancheng", kind="centre", name="赵经办", phone=phone).status_code == 302
    password = shown_password(staff, "xuancheng")
    assert any(row[:4] == (phone, "赵经办", "", True) for row in accounts("xuancheng"))
    response = staff_sign_in("xuancheng", phone, password)
    assert (response.status_code, response["Location"]) == (302, "/staff/")


def test_a_new_password_replaces_the_old_and_switching_off_stops_the_sign_in() -> None:
    admin = platform_admin()
    phone = phone_make()
    save(admin, "xinjiang", kind="issuer", issuer="guoren", name="钱出函", phone=phone)
    first = shown_password(admin, "xinjiang")
    pk = user_pk("xinjiang", phone)
    assert admin.post(f"{page_url('xinjiang')}{pk}/password").status_code == 302
    second = shown_password(admin, "xinjiang")
    assert second != first
    assert issuer_sign_in("xinjiang", phone, first).status_code != 302
    assert issuer_sign_in("xinjiang", phone, second)["Location"] == "/issuer/"
    # an update by phone keeps the password unless asked, and keeps the issuer
    before = [row for row in accounts("xinjiang") if row[0] == phone]
    save(admin, "xinjiang", kind="issuer", issuer="guoren", name="钱出函二", phone=phone)
    after = [row for row in accounts("xinjiang") if row[0] == phone]
    assert after == [(phone, "钱出函二", "guoren", True, before[0][4])]
    assert "data-secret-once" not in admin.get(page_url("xinjiang")).content.decode()
    # switched off: no sign-in; on again: signs in
    assert admin.post(f"{page_url('xinjiang')}{pk}/active", {"active": "0"}).status_code == 302
    assert [row[3] for row in accounts("xinjiang") if row[0] == phone] == [False]
    assert issuer_sign_in("xinjiang", phone, second).status_code != 302
    admin.post(f"{page_url('xinjiang')}{pk}/active", {"active": "1"})
    # (a second code within the minute is refused by the SMS interval: the account itself is on again)
    on = in_centre("xinjiang", lambda: UserPhone.objects.select_related("user").get(phone=phone).user)
    assert on.is_active
    assert on.check_password(second)
    connection.set_schema_to_public()
    logged = set(
        ConsoleAction.objects.filter(tenant=tenant("xinjiang"), action__startswith="user_").values_list(
            "action", flat=True
        )
    )
    assert {"user_account_create", "user_password_reset", "user_account_update", "user_deactivate"} <= logged
    assert "user_reactivate" in logged


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"kind": "issuer", "issuer": "", "name": "甲"}, "issuer", "请选择所属的出函机构"),
        ({"kind": "issuer", "issuer": "guoren", "name": "甲"}, "issuer", "请从列表中选择"),  # not Benxi's issuer
        ({"kind": "centre", "name": ""}, "name", "请填写姓名"),
        ({"kind": "centre", "name": "甲", "phone": "1380013800"}, "phone", "手机"),
        ({"kind": "nobody", "name": "甲"}, "kind", "请选择账户类型"),
    ],
)
def test_a_refused_form_names_the_field_keeps_what_was_typed_and_changes_nothing(
    fields: dict[str, str], field: str, words: str
) -> None:
    admin = platform_admin()
    fields = {"phone": phone_make(), **fields}
    before = accounts("benxi")
    actions = ConsoleAction.objects.count()
    response = save(admin, "benxi", **fields)
    assert response.status_code == 400
    page = response.content.decode()
    error = re.search(rf'id="id_acct-{field}_error" role="alert">([^<]*)<', page)
    assert error, f"no error beside {field}"
    assert words in error.group(1)
    if fields.get("name"):
        assert f'value="{fields["name"]}"' in page
    assert accounts("benxi") == before
    assert ConsoleAction.objects.count() == actions


def test_one_phone_one_role_per_centre_and_the_refusal_changes_nothing() -> None:
    admin = platform_admin()
    issuer_phone = phone_make()
    in_centre("benxi", issuer_account_upsert, issuer_code="zijin", phone=issuer_phone, password="issuer-pass-2026")
    before = accounts("benxi")
    # as centre staff (the console and the service both refuse), as another issuer's staff
    for fields in ({"kind": "centre"}, {"kind": "issuer", "issuer": "yongan"}):
        response = save(admin, "benxi", name="乙", phone=issuer_phone, **fields)
        assert response.status_code == 400
        assert "请换一个手机号" in response.content.decode()
    with pytest.raises(InvalidInput) as refused:
        in_centre("benxi", staff_account_upsert, phone=issuer_phone, password="another-pass-2026", name="乙")
    assert refused.value.code == "phone_taken"
    assert accounts("benxi") == before
    # the same phone may hold an account on another centre
    assert save(admin, "xuancheng", kind="centre", name="乙", phone=issuer_phone).status_code == 302


def test_who_may_manage_accounts() -> None:
    phone = phone_make()
    before = accounts("benxi")
    # an issuer's console user sees the centre but not its people, and changes nothing
    issuer_user = console(console_user(f"zijin-{next(_names)}", ConsoleRole.Kind.ISSUER_STAFF, "benxi", "zijin"))
    assert issuer_user.get(page_url("benxi")).status_code == 403
    assert save(issuer_user, "benxi", kind="centre", name="丙", phone=phone).status_code == 403
    # another centre's staff: that centre is not theirs to see
    other = centre_staff("xinjiang", f"xj-staff-{next(_names)}")
    assert other.get(page_url("benxi")).status_code == 404
    assert save(other, "benxi", kind="centre", name="丙", phone=phone).status_code == 404
    pk = user_pk("benxi", before[0][0]) if before else 1
    assert other.post(f"{page_url('benxi')}{pk}/active", {"active": "0"}).status_code == 404
    assert other.post(f"{page_url('benxi')}{pk}/password").status_code == 404
    # signed out: to the sign-in
    assert Client(HTTP_HOST="localhost").get(page_url("benxi")).status_code == 302
    assert accounts("benxi") == before
    # the centre's own staff may
    own = centre_staff("benxi", f"bx-staff-{next(_names)}")
    assert own.get(page_url("benxi")).status_code == 200


def test_the_list_shows_one_centres_accounts_with_phones_masked() -> None:
    admin = platform_admin()
    mine, theirs = phone_make(), phone_make()
    in_centre("benxi", issuer_account_upsert, issuer_code="yongan", phone=mine, password="issuer-pass-2026", name="孙")
    in_centre("xinjiang", staff_account_upsert, phone=theirs, password="staff-pass-2026", name="周")
    page = admin.get(page_url("benxi")).content.decode()
    assert f"{mine[:3]}****{mine[-4:]}" in page
    assert mine not in page
    listed = re.sub(r"<[^>]+>", " ", page.split('id="accounts"')[1].split("</section>")[0])
    assert f"{theirs[:3]}****{theirs[-4:]}" not in listed
    assert "周" not in listed
    assert "孙" in listed
    assert "永安" in listed
    assert "出函机构工作人员" in listed
    # a row per account of the centre
    with tenant_context(tenant("benxi")):
        staff = User.objects.filter(is_staff=True, phone__isnull=False).count()
    connection.set_schema_to_public()
    assert page.count("data-account=") == staff == len(accounts("benxi"))
