"""Real-browser fixtures: the platform served on a free loopback port, Debian's Chromium driven headless by Playwright.

    from tests.browser.conftest import LiveSite, PageFactory, assert_clean, page_log, screenshot

    def test_walk(live_site: LiveSite, page_factory: PageFactory) -> None:
        page = page_factory("xinjiang")            # desktop 1280x900; page_factory("benxi", mobile=True): a phone
        page.goto("/login/")                       # relative to live_site.url("xinjiang") = http://xinjiang.localhost:<port>
        page.get_by_role("button", name="登录").click()
        screenshot(page, "xinjiang", "login")      # tests/artifacts/screens/xinjiang/login.png
        assert_clean(page)                         # no console error, uncaught exception or broken request

One Chromium and one server serve every test of this package (package scope, see ``live_site``); each call of
``page_factory`` gets a new browser context (cookies, storage), closed after the test. Every test here is marked
``browser`` (``-m "not browser"`` leaves them out) and has database access outside a test transaction
(``committed_db``): the server answers from threads with connections of their own, which see only committed rows,
so a test here never relies on ``django_db``'s rollback, and what it creates stays for the rest of the run.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import weakref
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    WebError,
    sync_playwright,
)

from tests import leaks
from tests.browser.blanks import FOUND as BLANKS_FOUND
from tests.browser.blanks import blanks_find

# Playwright's sync API runs an asyncio event loop in the main thread (in a greenlet of its own) while the browser is
# up, so Django sees a "running event loop" there and refuses every ORM call a test makes (SynchronousOnlyOperation:
# "You cannot call this from an async context"). Nothing runs concurrently: the test's code and Playwright's loop
# take turns in one thread, so the check is a false alarm here. Django reads the variable at each call; the live
# server's own threads have no loop and are not concerned.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root, where Chromium's sandbox refuses to start
    # The browser's own language, as a bidder's in China: date inputs read yyyy/mm/dd, not mm/dd/yyyy.
    "--lang=zh-CN",
    "--disable-gpu",
    # Without these Chromium keeps calling Google's hosts, which this machine's closed network refuses.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Every centre's host, <code>.localhost, is this machine, without /etc/hosts entries.
    "--host-resolver-rules=MAP *.localhost 127.0.0.1",
]
TIMEOUT_MS = 10_000
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{version} "
    "Mobile Safari/537.36"
)
# What the suite's scan for unmasked numbers reads (tests/leaks.py), as the test client's answers are.
RECORDED_TYPES = ("text/html", "application/json", "text/plain", "text/csv")


# --- Marker -------------------------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keeps each phase's report on the test, for ``page_factory`` to save the pages of a failed one."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


# --- The live site ------------------------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadedWSGIServer):
    """Django's threaded server (a thread per connection, each closing its database connections when done) that
    also remembers its open sockets, so that ``stop`` can end the browser's keep-alive connections and join every
    thread, their database connections closed, before the test database is dropped."""

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _QuietHandler, allow_reuse_address=False)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def close_request(self, request: Any) -> None:
        super().close_request(request)
        with self._lock:
            self._open.discard(request)

    def disconnect_all(self) -> None:
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Recording:
    """Keeps each page and API answer for the suite's scan for unmasked numbers, as the test client's are."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        content_type = ""

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal content_type
            content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
            return start_response(status, headers, exc_info)

        result = self.app(environ, start)
        if not content_type.startswith(RECORDED_TYPES):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        leaks.BODIES.append((str(environ.get("PATH_INFO", "")), body))
        if content_type.startswith("text/html"):
            blanks_find(str(environ.get("PATH_INFO", "")), body)
        return [body]


class _Busy:
    """Counts the requests being answered (until the server closes the answer), for ``LiveSite.wait_idle``."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.count = 0
        self.changed = threading.Condition()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self.changed:
            self.count += 1
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self.done()
            raise
        return _ClosingBody(result, self.done)

    def done(self) -> None:
        with self.changed:
            self.count -= 1
            self.changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count == 0, timeout)


class _ClosingBody:
    def __init__(self, body: Iterable[bytes], then: Any) -> None:
        self.body = body
        self.then = then

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.then()


class LiveSite:
    """The whole platform (WSGI, static files from the themes through the finders) on 127.0.0.1, a free port."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0))
        self._busy = _Busy(StaticFilesHandler(_Recording(WSGIHandler())))  # type: ignore[arg-type]
        self._server.set_app(self._busy)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-site", daemon=True)
        self._thread.start()

    def host(self, region: str) -> str:
        return f"{region}.localhost:{self.port}"

    def url(self, region: str, path: str = "/") -> str:
        """``http://<region>.localhost:<port><path>``: a trading centre's site."""
        return f"http://{region}.localhost:{self.port}{path}"

    def platform_url(self, path: str = "/") -> str:
        """The platform's own site (public schema)."""
        return f"http://localhost:{self.port}{path}"

    def wait_idle(self, timeout: float = 10) -> bool:
        """Waits until no request is being answered; False if some still is after ``timeout`` seconds."""
        return self._busy.wait_idle(timeout)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.disconnect_all()
        self._server.server_close()  # joins the request threads
        self._thread.join()


# Package scope, not session: Playwright's event loop (see DJANGO_ALLOW_ASYNC_UNSAFE above) must be gone before the
# rest of the suite runs, where asyncio.run() or async_to_sync() would refuse to start beside it. One browser and one
# server still serve every test of tests/browser, its subfolders included.
@pytest.fixture(scope="package")
def live_site(django_db_setup: None) -> Iterator[LiveSite]:
    site = LiveSite()
    try:
        yield site
    finally:
        site.stop()


@pytest.fixture(autouse=True)
def _browser_db(committed_db: None) -> None:
    """The server's threads reach the test database only while a test runs (pytest-django blocks it otherwise)."""


# --- The browser --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("BAOHAN_CHROMIUM") or CHROMIUM
    if not os.access(executable, os.X_OK):
        pytest.fail(f"no Chromium at {executable}: run `make browser` (or point BAOHAN_CHROMIUM at one)")
    # While an event loop runs in a thread, asgiref keeps Django's connections of that thread apart from those it had
    # before (a context variable instead of the thread's own storage): a connection opened on either side of the
    # loop's start or stop would be lost, left open, and the test database could not be dropped at the end.
    connections.close_all()
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            # Chromium on Linux formats dates in the language of its environment.
            env={**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "zh_CN:zh"},
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        connections.close_all()
        playwright.stop()


# Answers a page may get without anything being wrong: a document (a 404 page, a form refused with 400) or a script's
# call (an API refusing bad input). A stylesheet, script, image or font that fails is a broken page; so is any 5xx.
EXPECTED_REFUSALS = ("document", "xhr", "fetch")
# Chromium logs "Failed to load resource: ... status of 400" for every answer >= 400, expected refusals included.
RESOURCE_FAILED = re.compile(r"^Failed to load resource: the server responded with a status of \d+")
# Chromium asks every site for /favicon.ico by itself when a page names no icon: a guess of the browser's, not a
# request of the page's (an icon a page names and that fails is still reported).
IMPLICIT_FAVICON = re.compile(r"^https?://[^/]+/favicon\.ico$")


@dataclass
class PageLog:
    """What went wrong in a browser context: console errors, uncaught exceptions and failed requests. ``refused``
    lists the expected refusals (4xx answers to a navigation or a script's call), which are not problems."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    _refused_urls: set[str] = field(default_factory=set, repr=False)
    _resource_errors: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def problems(self, allow: Iterable[str] = ()) -> list[str]:
        """Everything seen but the expected refusals and what matches a pattern of ``allow`` (searched)."""
        patterns = [re.compile(pattern) for pattern in allow]
        # A console's "failed to load" is a problem unless its answer was an expected refusal (matched here, as the
        # console message and the response arrive in either order).
        unexpected = [
            message
            for message, url in self._resource_errors
            if url not in self._refused_urls and not IMPLICIT_FAVICON.match(url)
        ]
        found = [*self.console_errors, *unexpected, *self.failed_requests]
        return [problem for problem in found if not any(pattern.search(problem) for pattern in patterns)]

    def clear(self) -> None:
        for items in (self.console_errors, self.failed_requests, self.refused, self._resource_errors):
            items.clear()
        self._refused_urls.clear()


_LOGS: weakref.WeakKeyDictionary[BrowserContext, PageLog] = weakref.WeakKeyDictionary()


def _watch(context: BrowserContext) -> PageLog:
    log = _LOGS[context] = PageLog()

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location["url"]
        text = f"console: {message.text} ({url}:{message.location['lineNumber']})"
        if RESOURCE_FAILED.match(message.text):
            log._resource_errors.append((text, url))
        else:
            log.console_errors.append(text)

    def on_error(error: WebError) -> None:
        log.console_errors.append(f"uncaught: {error.error}")

    def on_failed(request: Request) -> None:
        # A navigation cut short (a download, another navigation) is aborted, not broken.
        if request.failure == "net::ERR_ABORTED" and request.is_navigation_request():
            return
        log.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def on_response(response: Response) -> None:
        if response.status < 400:
            return
        kind = response.request.resource_type
        line = f"{response.request.method} {response.url}: {response.status} ({kind})"
        if response.status < 500 and kind in EXPECTED_REFUSALS:
            log.refused.append(line)
            log._refused_urls.add(response.url)
        else:
            log.failed_requests.append(line)

    context.on("console", on_console)
    context.on("weberror", on_error)
    context.on("requestfailed", on_failed)
    context.on("response", on_response)
    return log


def page_log(page: Page) -> PageLog:
    """The problems seen so far in ``page``'s context (all its pages and popups)."""
    return _LOGS[page.context]


def assert_clean(page: Page, *, allow: Iterable[str] = ()) -> None:
    """No console error, uncaught exception or failed request in ``page``'s context, but those matching a pattern
    of ``allow`` (regular expressions, searched)."""
    problems = page_log(page).problems(allow)
    assert not problems, "the browser saw:\n  " + "\n  ".join(problems)


class PageFactory(Protocol):
    def __call__(self, region: str | None = None, *, mobile: bool = False, **options: Any) -> Page: ...


@pytest.fixture
def page_factory(request: pytest.FixtureRequest, live_site: LiveSite, browser: Browser) -> Iterator[PageFactory]:
    """``page_factory(region=None, *, mobile=False, **context_options) -> Page``: a page in a new browser context
    (its own cookies and storage), zh-CN, Asia/Shanghai, downloads accepted, 10 s timeouts. With ``region``, relative
    URLs are the centre's (``page.goto("/login/")``). ``mobile=True``: a 390x844 touch phone; other keywords go to
    ``Browser.new_context``. Contexts close after the test; when it failed, each page is saved first to
    ``<artifacts>/failures/``."""
    contexts: list[BrowserContext] = []
    blanks_before = len(BLANKS_FOUND)

    def new_page(region: str | None = None, *, mobile: bool = False, **options: Any) -> Page:
        # Reduced motion: charts are drawn at once, so a screenshot never catches a bar mid-animation.
        settings: dict[str, Any] = {
            "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai",
            "accept_downloads": True,
            "reduced_motion": "reduce",
        }
        settings.update(PHONE if mobile else DESKTOP)
        if mobile:
            settings["user_agent"] = PHONE_USER_AGENT.format(version=browser.version)
        if region is not None:
            settings["base_url"] = live_site.url(region, "")
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        _watch(context)
        contexts.append(context)
        return context.new_page()

    yield new_page
    report = request.node.stash.get(_REPORTS, {}).get("call")
    for number, context in enumerate(contexts):
        if report is not None and report.failed:
            for index, page in enumerate(context.pages):
                name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
                with contextlib.suppress(Exception):
                    _save(page, artifacts_dir() / "failures" / f"{name}-{number}-{index}.png")
        context.close()
    # Answers still being written when the test ends would reach a database pytest-django has blocked again.
    live_site.wait_idle()
    blanks = BLANKS_FOUND[blanks_before:]
    assert not blanks, "pages printed a missing value:\n  " + "\n  ".join(blanks)


# --- Screenshots --------------------------------------------------------------------------------------------------


def artifacts_dir() -> Path:
    """``tests/artifacts`` (git-ignored), or ``$BAOHAN_ARTIFACTS``."""
    return Path(os.environ.get("BAOHAN_ARTIFACTS") or HERE.parent / "artifacts")


def _save(page: Page, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path


def screenshot(page: Page, region: str, name: str) -> Path:
    """The whole page as ``<artifacts>/screens/<region>/<name>.png``; returns the path."""
    return _save(page, artifacts_dir() / "screens" / region / f"{name}.png")
