"""English through Django's i18n: Chinese by default, English on request, and a catalogue that cannot drift.

The msgids are the Chinese source text. ``platform/locale/en/LC_MESSAGES/django.po`` holds the English,
and the compiled ``django.mo`` beside it is committed (machines running the site may lack gettext).
The checks below fail when an entry is untranslated or fuzzy, when a template or module has text the
catalogue lacks, or when the committed ``.mo`` no longer says what the ``.po`` says.
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

LC_MESSAGES = Path(settings.PLATFORM_DIR) / "locale" / "en" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"
# The same as the makemessages command in the .po's header: folders that hold no UI text.
MAKEMESSAGES_IGNORE = ["tests", "bench", "helm", "staticfiles", "node_modules"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


# --- A tiny .po reader (polib is not a dependency) ------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def po_read(path: Path) -> list[Entry]:
    """Entries of a .po file, the header (msgid "") first."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] = ("msgid", 0)
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry is not None:
                entries.append(entry)
            entry = None
            continue
        if entry is None:
            entry = Entry()
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        text = ast.literal_eval(rest)
        assert isinstance(text, str), raw
        if keyword:
            index = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            target = ("msgstr", int(index.group(1))) if index else (keyword, 0)
            if target[0] == "msgstr":
                entry.msgstr[target[1]] = ""
            elif target[0] == "msgid_plural":
                entry.msgid_plural = ""
            elif target[0] == "msgctxt":
                entry.msgctxt = ""
            else:
                assert target[0] == "msgid", raw
        name, index_ = target
        if name == "msgstr":
            entry.msgstr[index_] += text
        elif name == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + text
        elif name == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + text
        else:
            entry.msgid += text
    return entries


def messages(path: Path) -> list[Entry]:
    """The translatable entries: no header, no obsolete ones."""
    return [e for e in po_read(path) if e.msgid and not e.obsolete]


# --- The catalogue ------------------------------------------------------------------------------


def test_every_entry_is_translated_and_none_is_fuzzy() -> None:
    entries = po_read(PO)
    header = entries[0]
    assert header.msgid == ""
    assert "Language: en\n" in header.msgstr[0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.msgstr[0]
    assert not any(e.obsolete for e in entries), "obsolete (#~) entries: run makemessages and drop them"
    found = messages(PO)
    assert len(found) > 400
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    untranslated = [e.msgid for e in found if not e.msgstr or not all(s.strip() for s in e.msgstr.values())]
    assert not untranslated, f"untranslated: {untranslated}"
    plurals = [e for e in found if e.msgid_plural is not None]
    assert plurals
    assert all(sorted(e.msgstr) == [0, 1] for e in plurals)


def test_placeholders_survive_translation() -> None:
    for e in messages(PO):
        wanted = set(PLACEHOLDER.findall(e.msgid)) | set(PLACEHOLDER.findall(e.msgid_plural or ""))
        for text in e.msgstr.values():
            assert set(PLACEHOLDER.findall(text)) == wanted, (e.msgid, text)
        assert not re.search(r"[\u4e00-\u9fff]", "".join(e.msgstr.values())), f"Chinese left in {e.msgid!r}"


def header_fields(header: str) -> dict[str, str]:
    fields = dict(line.partition(":")[::2] for line in header.splitlines() if line)
    fields.pop("POT-Creation-Date", None)
    return {name: value.strip() for name, value in fields.items()}


def test_committed_mo_says_what_the_po_says() -> None:
    """Read the committed .mo with Python's gettext: independent of the gettext version that compiled it."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalog: dict[object, str] = dict(compiled._catalog)  # type: ignore[attr-defined]
    # msgfmt drops POT-Creation-Date from the header (since gettext 0.20): compare the other fields.
    assert header_fields(catalog.pop("")) == header_fields(po_read(PO)[0].msgstr[0])
    expected: dict[object, str] = {}
    for e in messages(PO):
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            expected[key] = e.msgstr[0]
        else:
            expected.update({(key, n): text for n, text in e.msgstr.items()})
    stale = {k for k in expected.keys() | catalog.keys() if expected.get(k) != catalog.get(k)}
    assert not stale, (
        f"django.mo is stale for {sorted(map(str, stale))[:10]}: run "
        "msgfmt --check -o platform/locale/en/LC_MESSAGES/django.mo platform/locale/en/LC_MESSAGES/django.po"
    )


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
def test_po_compiles_cleanly_with_msgfmt(tmp_path: Path) -> None:
    """msgfmt's own checks (format strings, plural forms, header); its .mo must load like the committed one."""
    out = tmp_path / "django.mo"
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(out), str(PO)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with out.open("rb") as fresh, MO.open("rb") as committed:
        assert gettext.GNUTranslations(fresh)._catalog == gettext.GNUTranslations(committed)._catalog  # type: ignore[attr-defined]


def sources_copy(target: Path) -> None:
    """What makemessages scans in the repository (its templates and modules), copied to ``target``.

    makemessages writes a scratch file beside each template it reads: run it on a copy, never the tree.
    """
    root = Path(settings.ROOT_DIR)

    def skipped(folder: str, names: list[str]) -> set[str]:
        return {
            name
            for name in names
            if name.startswith(".")
            or name in {"__pycache__", "locale", *MAKEMESSAGES_IGNORE}
            or ((Path(folder) / name).is_file() and Path(name).suffix not in {".py", ".html", ".txt"})
        }

    for item in root.iterdir():
        if item.name in skipped(str(root), [item.name]):
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, ignore=skipped)
        else:
            shutil.copy2(item, target / item.name)


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext's xgettext is not installed")
def test_catalogue_has_every_msgid_in_the_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """makemessages on a copy of the sources: every msgid the templates and modules use is in the .po."""
    sources = tmp_path / "src"
    sources.mkdir()
    sources_copy(sources)
    monkeypatch.chdir(sources)
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        call_command("makemessages", locale=["en"], ignore_patterns=MAKEMESSAGES_IGNORE, verbosity=0)
    fresh = {(e.msgctxt, e.msgid, e.msgid_plural) for e in messages(tmp_path / "locale/en/LC_MESSAGES/django.po")}
    committed = {(e.msgctxt, e.msgid, e.msgid_plural) for e in messages(PO)}
    assert fresh, "makemessages found nothing"
    assert not fresh - committed, f"not in django.po (run makemessages and translate): {sorted(fresh - committed)}"
    assert not committed - fresh, f"no longer used (run makemessages): {sorted(committed - fresh)}"


# --- Pages --------------------------------------------------------------------------------------


def benxi() -> Client:
    return Client(HTTP_HOST="benxi.localhost")


def test_pages_stay_chinese_by_default() -> None:
    page = benxi().get("/sections/").content.decode()
    assert '<html lang="zh-hans">' in page
    assert '<h1 class="page-title">项目标段</h1>' in page
    assert ">查询</button>" in page
    assert "Sections" not in page
    login = benxi().get("/login/").content.decode()
    assert '<h1 class="card-title" id="login-title">用户登录</h1>' in login
    assert "密码登录" in login


def test_language_cookie_switches_to_english() -> None:
    client = benxi()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/sections/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert '<h1 class="page-title">Sections</h1>' in page
    assert ">Search</button>" in page
    assert 'aria-label="Section search"' in page
    assert "项目标段" not in page
    assert ">查询<" not in page
    assert "本溪" in page  # the centre's name is data from its rule pack: it stays Chinese


def test_set_language_view_remembers_english() -> None:
    client = benxi()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    login = client.get("/login/").content.decode()
    assert '<html lang="en">' in login
    assert '<h1 class="card-title" id="login-title">Sign in</h1>' in login
    assert "Sign in with password" in login
    assert "Sign in with SMS code" in login
    assert "Forgot password" in login
    assert "用户登录" not in login
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "用户登录" in client.get("/login/").content.decode()


def test_set_language_refuses_an_outside_next() -> None:
    response = benxi().post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_footer_offers_the_language_switcher() -> None:
    page = benxi().get("/sections/?q=x").content.decode()
    form = re.search(r'<form class="language-switcher".*?</form>', page, re.S)
    assert form, "no language switcher in the footer"
    html = form.group(0)
    assert 'action="/i18n/setlang/"' in html
    assert 'method="post"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<input type="hidden" name="next" value="/sections/?q=x">' in html
    assert '<label for="language-select">' in html
    assert '<select id="language-select" name="language">' in html
    assert '<option value="zh-hans" lang="zh-hans" selected>简体中文</option>' in html
    assert '<option value="en" lang="en">English</option>' in html
    assert '<button type="submit"' in html


def test_platform_host_switches_language_too() -> None:
    client = Client(HTTP_HOST="localhost")
    assert "电子保函服务平台" in client.get("/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert '<html lang="en">' in page
    assert "E-Guarantee Service Platform" in page
    assert "Connected trading centres" in page
