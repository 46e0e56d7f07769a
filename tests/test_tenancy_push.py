"""A warm host is served from the process's memory while its listener confirms the tenancy generation
(tenants/push.py): no Redis command per request; a change published by any process is seen by the
next request; with Redis stopped every request reads around it, and once Redis is back the listener
recovers. On a real Redis, started here on a socket that survives its restarts."""

from __future__ import annotations

import os
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from baohan.embedded import redis_command
from tenants import hosts, push
from tenants.models import Domain, Tenant

pytestmark = pytest.mark.django_db

MOVING = "moving.localhost"
WAIT = 2.0  # seconds a published change may take to arrive
RECOVER = 10.0  # seconds the listener may take to reconnect (its back-off is at most 2 s)


class Server:
    """redis-server on a fixed socket in ``folder``: stopped and started again at the same address."""

    def __init__(self, folder: Path) -> None:
        self.argv, url = redis_command(folder)
        self.socket = url.removeprefix("redis+socket://")
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis_lib.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> redis_lib.Redis:
        return redis_lib.Redis(unix_socket_path=self.socket, socket_timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("push") / "redis")
    running.start()
    try:
        yield running
    finally:
        push.listener_stop()
        running.stop()


@pytest.fixture
def on_redis(server: Server) -> Iterator[Server]:
    """The shared ("global") cache on the test's Redis, emptied; the listener of the previous test gone."""
    if server.process is None:
        server.start()
    push.listener_stop()
    server.client().flushall()
    shared = {**settings.CACHES["global"], "BACKEND": "django.core.cache.backends.redis.RedisCache"}
    with override_settings(CACHES={**settings.CACHES, "global": {**shared, "LOCATION": server.url}}):
        try:
            yield server
        finally:
            push.listener_stop()


def until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def listener() -> push.TenancyListener:
    found = push.listener_for(caches["global"], generation_key=hosts.GENERATION_KEY)
    assert found is not None
    return found


def warm(*hostnames: str) -> None:
    """Look each host up until the listener is trusted and it is kept."""
    for hostname in hostnames:
        hosts.tenant_for_host(hostname)
    assert until(lambda: listener().healthy, RECOVER)
    for hostname in hostnames:
        hosts.tenant_for_host(hostname)
        assert listener().entry(hostname) is not None


def calls(server: Server) -> dict[str, int]:
    stats = server.client().info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def commands_during(server: Server, action: Callable[[], Any]) -> dict[str, int]:
    before = calls(server)
    action()
    after = calls(server)
    spent = {name: count - before.get(name, 0) for name, count in after.items()}
    return {name: count for name, count in spent.items() if count and name != "info"}


def moved_by_another_process(server: Server, *, to: Tenant) -> None:
    """Move the domain and announce it as ``tenancy_changed()`` does in another process."""
    Domain.objects.filter(domain=MOVING).update(tenant=to)
    cache = caches["global"]
    client = server.client()
    generation = client.incr(cache.make_key(hosts.GENERATION_KEY))
    client.publish(cache.make_key(push.CHANNEL), generation)


def code_of(hostname: str) -> str:
    return str(hosts.tenant_for_host(hostname).code)


@pytest.fixture
def moving() -> tuple[Tenant, Tenant]:
    benxi, xinjiang = Tenant.objects.get(code="benxi"), Tenant.objects.get(code="xinjiang")
    Domain.objects.create(domain=MOVING, tenant=benxi, is_primary=False)
    return benxi, xinjiang


def test_with_the_local_cache_there_is_no_listener() -> None:
    assert push.listener_for(caches["global"], generation_key=hosts.GENERATION_KEY) is None
    assert code_of("benxi.localhost") == "benxi"


def test_a_warm_host_costs_no_redis_command_and_each_host_keeps_its_own_centre(on_redis: Server) -> None:
    warm("benxi.localhost", "xinjiang.localhost")
    spent = commands_during(
        on_redis,
        lambda: [
            (code_of("benxi.localhost"), code_of("xinjiang.localhost"), code_of("benxi.localhost")) for _ in range(200)
        ],
    )
    assert "mget" not in spent
    assert "set" not in spent
    assert sum(spent.values()) <= 6, spent  # the listener's heartbeats only, once a second
    assert code_of("benxi.localhost") == "benxi"
    assert code_of("xinjiang.localhost") == "xinjiang"
    with pytest.raises(Domain.DoesNotExist):
        hosts.tenant_for_host("nowhere.localhost")
    assert listener().entry("nowhere.localhost") is None


@pytest.fixture
def no_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Heartbeats too rare to matter: only the published message can bring a change."""
    monkeypatch.setattr(push, "HEARTBEAT", 60.0)
    monkeypatch.setattr(push, "FRESH", 180.0)


@pytest.mark.usefixtures("no_heartbeat")
def test_a_domain_moved_by_another_process_serves_its_new_centre_once_published(
    on_redis: Server, moving: tuple[Tenant, Tenant]
) -> None:
    _benxi, xinjiang = moving
    warm(MOVING)
    assert code_of(MOVING) == "benxi"
    moved_by_another_process(on_redis, to=xinjiang)
    assert until(lambda: code_of(MOVING) == "xinjiang", WAIT)
    assert code_of(MOVING) == "xinjiang"  # and served so from then on, from memory again
    assert until(lambda: listener().entry(MOVING) is not None, WAIT)
    assert code_of(MOVING) == "xinjiang"


@pytest.mark.usefixtures("no_heartbeat")
def test_tenancy_changed_here_is_published_to_the_listener(on_redis: Server, moving: tuple[Tenant, Tenant]) -> None:
    _benxi, xinjiang = moving
    warm(MOVING)
    generation = listener().generation
    Domain.objects.filter(domain=MOVING).update(tenant=xinjiang)
    hosts.tenancy_changed()
    assert until(lambda: listener().generation != generation, WAIT)
    assert code_of(MOVING) == "xinjiang"


def test_a_change_only_written_to_redis_is_seen_at_the_next_heartbeat(
    on_redis: Server, moving: tuple[Tenant, Tenant]
) -> None:
    """A process that moves the generation on without publishing (an older release during a deploy)."""
    _benxi, xinjiang = moving
    warm(MOVING)
    Domain.objects.filter(domain=MOVING).update(tenant=xinjiang)
    on_redis.client().incr(caches["global"].make_key(hosts.GENERATION_KEY))
    assert until(lambda: code_of(MOVING) == "xinjiang", push.HEARTBEAT + WAIT)


def test_with_redis_stopped_hosts_are_read_from_the_database_and_memory_serves_again_once_it_is_back(
    on_redis: Server, moving: tuple[Tenant, Tenant]
) -> None:
    benxi, xinjiang = moving
    warm("xinjiang.localhost", MOVING)
    on_redis.stop()
    assert until(lambda: not listener().healthy, WAIT)
    assert listener().entries == {}
    Domain.objects.filter(domain=MOVING).update(tenant=xinjiang)  # the generation cannot move on now
    assert code_of(MOVING) == "xinjiang"
    assert code_of("xinjiang.localhost") == "xinjiang"
    assert listener().entry(MOVING) is None
    Domain.objects.filter(domain=MOVING).update(tenant=benxi)
    assert code_of(MOVING) == "benxi"

    on_redis.start()
    assert until(lambda: listener().healthy, RECOVER)
    warm("xinjiang.localhost", MOVING)
    spent = commands_during(on_redis, lambda: [code_of(MOVING) for _ in range(100)])
    assert "mget" not in spent
    assert code_of(MOVING) == "benxi"
    moved_by_another_process(on_redis, to=xinjiang)  # and changes are pushed again
    assert until(lambda: code_of(MOVING) == "xinjiang", WAIT)


def no_database(hostname: str) -> Domain:
    raise AssertionError(f"{hostname} read from the database")


def test_a_forked_child_starts_its_own_listener_and_trusts_none_of_its_parents_memory(
    on_redis: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm("benxi.localhost")
    parent = listener()
    reading, writing = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: the child touches no lock
        child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        verdict = b"crashed"
        try:
            # The child shares its parent's database connection: it must never use it.
            monkeypatch.setattr(hosts, "_domain_read", no_database)
            own = listener()
            steps = [
                own is not parent,
                own.pid == os.getpid(),
                own.entry("benxi.localhost") is None,
                code_of("benxi.localhost") == "benxi",  # from the shared cache
                until(lambda: own.healthy, RECOVER),
                code_of("benxi.localhost") == "benxi",
                own.entry("benxi.localhost") is not None,
            ]
            verdict = ",".join("1" if step else "0" for step in steps).encode()
        finally:
            os.write(writing, verdict)
            os._exit(0)
    os.close(writing)
    _pid, status = os.waitpid(child, 0)
    with os.fdopen(reading, "rb") as pipe:
        verdict = pipe.read()
    assert os.waitstatus_to_exitcode(status) == 0
    assert verdict == b"1,1,1,1,1,1,1"
    assert listener() is parent
    assert parent.healthy
    assert code_of("benxi.localhost") == "benxi"
