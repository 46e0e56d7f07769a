"""Every sign-in page a centre can reach is ours, in Chinese and in the centre's theme: each allauth URL the
project mounts is opened on every centre, signed out and signed in, and each page it answers must be drawn by
our templates only (never allauth's defaults) with no English on it. Pages of a way in the centre's pack does
not offer answer 404. Benxi's 新用户注册 collects and checks the SMS code; the greeting after sign-in names the
enterprise, never the internal user name."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context

from baohan.identity.models import UserPhone
from tests.api import bidder_api, captcha_answer, outbox_code, phone_make, tenant

pytestmark = pytest.mark.django_db

REGIONS = ("benxi", "xinjiang", "xuancheng")
THEMES = Path(settings.THEMES_DIR).resolve()
# Words a page may show in Latin letters while Chinese is active: the language switcher's own name for English,
# and the pack's 证书key (Xuancheng's manual says so).
LATIN_ALLOWED = {"english", "language", "key"}


def allauth_paths() -> list[tuple[str, str]]:
    """(url name, path) of every allauth URL the centres' URLconf mounts; a pattern's groups get sample values."""
    found: list[tuple[str, str]] = []

    def walk(patterns: list[Any], prefix: str, inside: bool) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                module = getattr(p.urlconf_module, "__name__", "")
                walk(p.url_patterns, prefix + str(p.pattern), inside or module.startswith("allauth"))
            elif isinstance(p, URLPattern) and inside and p.name:
                raw = prefix + str(p.pattern)
                path = re.sub(r"\(\?P<key>[^)]*\)", "sample-key", raw)
                path = re.sub(r"\(\?P<uidb36>[^)]*\)", "1", path)
                path = "/" + path.replace("^", "").replace("$", "")
                found.append((p.name, path))

    walk(get_resolver("baohan.urls_tenant").url_patterns, "", False)
    return found


def visible_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style|title)\b.*?</\1>", " ", html)
    html = re.sub(r'(?is)<(\w+)[^>]*\blang="en"[^>]*>.*?</\1>', " ", html)  # the language switcher's English
    html = re.sub(r"(?s)<!--.*?-->", " ", html)
    placeholders = " ".join(re.findall(r'(?:placeholder|alt|aria-label|title)="([^"]*)"', html))
    text = unescape(re.sub(r"(?s)<[^>]+>", " ", html) + " " + placeholders)
    return re.sub(r"https?://\S+", " ", text)


def english_words(html: str) -> list[str]:
    words = re.findall(r"[A-Za-z]{3,}", visible_text(html))
    return [w for w in words if w.lower() not in LATIN_ALLOWED]


def assert_ours(response: Any, where: str) -> None:
    """Drawn by our templates only, and in Chinese."""
    names = [t.origin.name for t in response.templates if getattr(t, "origin", None) and t.origin.name]
    assert names, f"{where}: no template rendered"
    assert Path(names[0]).resolve().is_relative_to(THEMES), f"{where}: the page is not ours: {names[0]}"
    # Django's own widget templates draw inputs; nothing else may come from outside the themes.
    foreign = [n for n in names if not Path(n).resolve().is_relative_to(THEMES) and "/django/forms/" not in n]
    assert not foreign, f"{where}: default templates used: {foreign}"
    html = response.content.decode()
    assert 'class="card auth-card"' in html, f"{where}: not in the sign-in layout"
    english = english_words(html)
    assert not english, f"{where}: English on the page: {english[:10]}"
    for word in ("None", "null", "undefined"):
        assert f">{word}<" not in html, f"{where}: {word} on the page"


def signed_in(region: str) -> tuple[Client, User]:
    _, operator = bidder_api(region, password="Pw-2026-pages")
    c = Client(HTTP_HOST=f"{region}.localhost")
    with tenant_context(tenant(region)):
        c.force_login(operator.user)
    connection.set_schema_to_public()
    return c, operator.user


def test_the_pattern_walk_finds_the_pages_that_matter() -> None:
    names = {name for name, _ in allauth_paths()}
    for name in (
        "account_login",
        "account_signup",
        "account_logout",
        "account_request_login_code",
        "account_confirm_login_code",
        "account_verify_phone",
        "account_change_password",
    ):
        assert name in names


@pytest.mark.parametrize("region", REGIONS)
def test_every_reachable_account_page_is_ours_and_chinese(region: str) -> None:
    host = f"{region}.localhost"
    seen = 0
    member, _ = signed_in(region)
    for signed, client in (("signed out", Client(HTTP_HOST=host)), ("signed in", member)):
        for name, path in allauth_paths():
            response = client.get(path, follow=True)
            where = f"{region} {signed} {name} {path}"
            assert response.status_code in (200, 404), f"{where}: {response.status_code}"
            if response.status_code == 404:
                continue
            final = response.redirect_chain[-1][0] if response.redirect_chain else path
            if not final.startswith(("/accounts/", "/login/")):
                continue  # sent on to a page that is not a sign-in page (the account, the landing page)
            assert_ours(response, where)
            seen += 1
    # And our own ways in.
    for path in ("/login/", "/login/reset/"):
        response = Client(HTTP_HOST=host).get(path)
        if response.status_code == 200:
            assert_ours(response, f"{region} {path}")
            seen += 1
    assert seen >= 2


def test_benxi_reaches_every_phone_page_and_each_is_ours() -> None:
    host = "benxi.localhost"
    c = Client(HTTP_HOST=host)
    for path in ("/accounts/login/", "/accounts/login/code/", "/accounts/signup/", "/login/", "/login/reset/"):
        response = c.get(path)
        assert response.status_code == 200, path
        assert_ours(response, path)
    html = c.get("/accounts/signup/").content.decode()
    for words in (
        "新用户注册",
        "手机号码",
        "图形验证码",
        "短信验证码",
        "获取验证码",
        "我已阅读并同意《用户服务协议》",
        "立即注册",
    ):
        assert words in html, words
    login = c.get("/accounts/login/").content.decode()
    for words in ("密码登录", "验证码登录", "忘记密码", "新用户注册"):
        assert words in login, words
    for default in ("发送登录代码给我", "请求码", "Sign In", "Send me a sign-in code"):
        assert default not in login

    # 验证码登录 → the code page, with its countdown and a way to 重新获取验证码.
    _, operator = bidder_api("benxi", password="Pw-2026-code")
    page = c.get("/accounts/login/code/").content.decode()
    key = page.split('name="captcha_0" value="', 1)[1].split('"', 1)[0]
    response = c.post(
        "/accounts/login/code/", {"phone": operator.phone, "captcha_0": key, "captcha_1": captcha_answer("benxi", key)}
    )
    assert response.status_code == 302, response.content.decode()[:400]
    response = c.get(response["Location"])
    assert_ours(response, "confirm login code")
    html = response.content.decode()
    assert "data-countdown" in html
    assert "重新获取验证码" in html
    assert operator.phone not in html  # shown masked
    # A wrong code is said in Chinese beside the field.
    response = c.post(
        "/accounts/login/code/confirm/",
        {"code": "000000" if outbox_code("benxi", operator.phone) != "000000" else "111111"},
    )
    assert_ours(response, "wrong code")
    assert re.search(r'<p class="field-error" id="id_code-error">短信验证码错误</p>', response.content.decode())

    # 手机号验证: an account whose phone is not yet verified is asked for a code after its password.
    _, unverified = bidder_api("benxi", password="Pw-2026-verify")
    with tenant_context(tenant("benxi")):
        UserPhone.objects.filter(user=unverified.user).update(verified=False)
    connection.set_schema_to_public()
    c = Client(HTTP_HOST=host)
    response = c.post("/accounts/login/", {"login": unverified.phone, "password": "Pw-2026-verify"})
    assert response["Location"] == "/accounts/phone/verify/"
    response = c.get("/accounts/phone/verify/")
    assert_ours(response, "verify phone")
    assert "手机号验证" in response.content.decode()

    # A wrong password: the error in Chinese, the form kept.
    response = Client(HTTP_HOST=host).post("/accounts/login/", {"login": operator.phone, "password": "wrong"})
    assert_ours(response, "wrong password")
    assert "手机号码或密码不正确" in response.content.decode()


def _signup_code(c: Client, phone: str) -> Any:
    page = c.get("/accounts/signup/").content.decode()
    key = page.split('name="captcha_key" value="', 1)[1].split('"', 1)[0]
    return c.post(
        "/accounts/signup/code", {"phone": phone, "captcha_key": key, "captcha": captcha_answer("benxi", key)}
    )


def test_benxi_signup_collects_and_checks_the_sms_code() -> None:
    c = Client(HTTP_HOST="benxi.localhost")
    phone = phone_make(720001)
    data = {
        "phone": phone,
        "password1": "Str0ng-pass-2026",
        "password2": "Str0ng-pass-2026",
        "consent_user_service_agreement": "on",
    }
    # Without a code: refused beside the code field, nothing made.
    response = c.post("/accounts/signup/", {**data, "sms_code": ""})
    assert response.status_code == 200
    assert_ours(response, "signup without code")
    assert "请先获取短信验证码" in response.content.decode() or "请填写短信验证码" in response.content.decode()
    with tenant_context(tenant("benxi")):
        assert not UserPhone.objects.filter(phone=phone).exists()
    connection.set_schema_to_public()

    # A wrong picture answer sends nothing.
    page = c.get("/accounts/signup/").content.decode()
    key = page.split('name="captcha_key" value="', 1)[1].split('"', 1)[0]
    response = c.post("/accounts/signup/code", {"phone": phone, "captcha_key": key, "captcha": "wrong"})
    assert response.status_code == 400
    assert response.json()["field"] == "captcha"

    response = _signup_code(c, phone)
    assert response.status_code == 201, response.content
    assert response.json()["phone"] == f"{phone[:3]}****{phone[-4:]}"
    code = outbox_code("benxi", phone)
    wrong = "000000" if code != "000000" else "111111"
    response = c.post("/accounts/signup/", {**data, "sms_code": wrong})
    assert response.status_code == 200
    assert "短信验证码错误" in response.content.decode()
    response = c.post("/accounts/signup/", {**data, "sms_code": code})
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL  # no verification step: the code proved the phone
    with tenant_context(tenant("benxi")):
        assert UserPhone.objects.get(phone=phone).verified is True
    connection.set_schema_to_public()
    assert c.get("/account/").status_code == 200

    # A registered phone gets no second code.
    response = _signup_code(Client(HTTP_HOST="benxi.localhost"), phone)
    assert response.status_code == 400
    assert response.json()["code"] == "phone_taken"


@pytest.mark.parametrize("region", ["xinjiang", "xuancheng"])
def test_centres_without_phone_sign_in_show_none_of_its_pages(region: str) -> None:
    c = Client(HTTP_HOST=f"{region}.localhost")
    for path in (
        "/accounts/login/",
        "/accounts/login/code/",
        "/accounts/signup/",
        "/accounts/phone/verify/",
        "/login/reset/",
        "/accounts/password/reset/",
    ):
        assert c.get(path).status_code == 404, path
    assert c.post("/accounts/signup/code", {"phone": phone_make(720050)}).status_code == 404
    member, _ = signed_in(region)
    for path in ("/accounts/phone/change/", "/accounts/password/change/", "/accounts/reauthenticate/"):
        assert member.get(path).status_code == 404, path


def test_xinjiang_login_links_to_the_trading_platform() -> None:
    html = Client(HTTP_HOST="xinjiang.localhost").get("/login/").content.decode()
    assert 'href="http://zwfw.xinjiang.gov.cn/xinjiangggzy/index_new.html"' in html
    assert "前往交易平台登录" in html
    # A refused hand-off leads back there too.
    response = Client(HTTP_HOST="xinjiang.localhost").get("/login/handoff", {"token": "forged"})
    assert response.status_code == 403
    assert 'href="http://zwfw.xinjiang.gov.cn/xinjiangggzy/index_new.html"' in response.content.decode()
    assert_ours(response, "hand-off refused")


def test_the_greeting_names_the_enterprise_never_the_user_name() -> None:
    _, operator = bidder_api("benxi", password="Pw-2026-greet")
    c = Client(HTTP_HOST="benxi.localhost")
    response = c.post("/accounts/login/", {"login": operator.phone, "password": "Pw-2026-greet"}, follow=True)
    html = response.content.decode()
    enterprise = operator.enterprise.name
    assert f"{enterprise}，欢迎您！" in html  # the message after sign-in
    assert f'<span class="topbar-name">{enterprise}</span>' in html  # the header
    assert operator.user.username not in html
    assert "成功登录" not in html
    # 退出 is a POST form in the header.
    assert re.search(r'<form class="topbar-logout" method="post" action="/accounts/logout/">', html)
    response = c.post("/accounts/logout/", follow=True)
    assert "您已安全退出登录。" in response.content.decode()


@pytest.mark.parametrize("region", REGIONS)
def test_header_lists_every_hotline_the_logo_and_the_favicon(region: str) -> None:
    from tenants.selectors import tenant_rule_pack

    with tenant_context(tenant(region)):
        pack = tenant_rule_pack(tenant=tenant(region))
    connection.set_schema_to_public()
    c = Client(HTTP_HOST=f"{region}.localhost")
    html = c.get("/").content.decode()
    header = html.split('<header class="site-header">', 1)[1].split("</header>", 1)[0]
    for hotline in pack.centre.hotlines:
        assert hotline in header, hotline
    assert pack.centre.logo
    assert f"/static/themes/{region}/{pack.centre.logo}" in header
    assert (THEMES / region / "static" / pack.centre.logo).is_file()
    icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="data:image/svg\+xml,([^"]*)">', html)
    assert icon, "no icon link"
    own = (THEMES / region / "static" / "brand" / "favicon.svg").read_text(encoding="utf-8")
    assert unquote(unescape(icon.group(1))) == " ".join(own.split())
    response = c.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body == (THEMES / region / "static" / "brand" / "favicon.svg").read_bytes()


def test_the_platform_host_has_a_favicon_too() -> None:
    response = Client(HTTP_HOST="localhost").get("/favicon.ico")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (THEMES / "base" / "static" / "brand" / "favicon.svg").read_bytes()  # type: ignore[attr-defined]


def test_a_verified_enterprise_sees_its_record_not_an_empty_form() -> None:
    from baohan.guarantees.models import Enterprise

    c, user = signed_in("benxi")
    with tenant_context(tenant("benxi")):
        enterprise = Enterprise.objects.get(operators__user=user)
        enterprise.verification = Enterprise.Verification.VERIFIED
        enterprise.save(update_fields=["verification"])
    connection.set_schema_to_public()
    html = c.get("/account/enterprise/").content.decode()
    assert "您的企业已完成认证" in html
    assert enterprise.name in html
    assert 'type="file"' not in html


def test_after_the_hand_off_the_greeting_names_the_enterprise() -> None:
    """Xinjiang's accounts are keyed by an internal name; the bidder reads the enterprise's."""
    from baohan.identity.services.logins import handoff_key_set
    from tests.test_login_ca_and_handoff import KEY_ID, SECRET, good_token

    with tenant_context(tenant("xinjiang")):
        handoff_key_set(key_id=KEY_ID, secret=SECRET)
    connection.set_schema_to_public()
    c = Client(HTTP_HOST="xinjiang.localhost")
    response = c.get("/login/handoff", {"token": good_token(71, "新疆问候测试有限公司")}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "新疆问候测试有限公司，欢迎您！" in html
    assert '<span class="topbar-name">新疆问候测试有限公司</span>' in html
    with tenant_context(tenant("xinjiang")):
        username = User.objects.get(operator__enterprise__name="新疆问候测试有限公司").username
    connection.set_schema_to_public()
    assert username not in html


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_refused_way_in_names_the_methods_as_the_sign_in_page_does(language: str) -> None:
    """「本中心不提供…」 names each method in the words of the centre's sign-in page, and in Chinese even when
    the caller reads English (the API's messages are Chinese)."""
    from baohan.identity.login_methods import login_choices
    from baohan.rulepacks.models import LoginMethod
    from tenants.selectors import tenant_rule_pack

    with tenant_context(tenant("benxi")):
        pack = tenant_rule_pack(tenant=tenant("benxi"))
        labels = [choice["label"] for choice in login_choices(pack)]
    connection.set_schema_to_public()
    assert labels == ["密码登录", "验证码登录"]
    page = Client(HTTP_HOST="benxi.localhost").get("/accounts/login/").content.decode()
    for label in labels:
        assert label in page, label
    response = Client(HTTP_HOST="benxi.localhost", HTTP_ACCEPT_LANGUAGE=language).post(
        "/api/v1/auth/token", {"handoff_token": "x.y.z"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "login_method_not_offered"
    assert LoginMethod.PLATFORM_HANDOFF not in pack.login.methods
    assert response.json()["message"] == "本中心不提供交易平台登录，请使用本中心的登录方式：密码登录、验证码登录"


def test_one_icon_lookup_serves_the_page_and_favicon_ico() -> None:
    """The icon is looked up once (``tenants.themes.theme_favicon``): a centre's own theme, else base, for the
    page's ``<link rel="icon">`` and /favicon.ico alike; a centre without a theme folder (paytest) gets base's."""
    from tenants.themes import theme_favicon, theme_favicon_data_uri

    own, fallback = theme_favicon("benxi"), theme_favicon("paytest")
    assert own is not None
    assert own.resolve() == THEMES / "benxi" / "static" / "brand" / "favicon.svg"
    assert fallback is not None
    assert fallback.resolve() == THEMES / "base" / "static" / "brand" / "favicon.svg"
    assert not (THEMES / "paytest").exists()
    c = Client(HTTP_HOST="paytest.localhost")
    response = c.get("/favicon.ico")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (THEMES / "base" / "static" / "brand" / "favicon.svg").read_bytes()  # type: ignore[attr-defined]
    icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]*)">', c.get("/").content.decode())
    assert icon, "no icon link"
    assert unescape(icon.group(1)) == theme_favicon_data_uri("paytest")


def test_the_sign_in_code_does_not_reach_into_the_bidder_pages() -> None:
    """identity sits below portal: it imports nothing from it (the icon and the login methods live with it)."""
    import baohan.identity

    identity = Path(baohan.identity.__file__).parent
    offenders = [
        str(p.relative_to(identity))
        for p in identity.rglob("*.py")
        if re.search(r"^\s*(from|import) baohan\.portal\b", p.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == []
