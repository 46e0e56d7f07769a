"""The tenancy generation pushed to each process, so a warm host costs no Redis round trip.

``tenancy_changed()`` moves the generation on in Redis and publishes on a channel. Each process
keeps a daemon thread (started on first use, and again in a forked child) subscribed to that
channel on its own connection: on every message, and on a heartbeat every ``HEARTBEAT`` seconds
(a ``PING`` on the subscribed connection, then a read of the generation), it stores the current
generation; a new one drops every entry the process keeps. A request is served from the process's
memory only while the listener is *healthy*: subscribed, and confirmed less than ``FRESH`` seconds
ago. Any error of the listener (Redis stopped, the connection lost, a heartbeat unanswered) makes
it unhealthy at once and drops every entry; requests then take the shared cache as before, and the
listener reconnects with back-off, reading the generation again before it is trusted.

On each message the listener reads the generation rather than taking the one published: two
processes that change centres together may publish out of order, the value read is the latest.

Only for a Redis cache (``django.core.cache.backends.redis.RedisCache``); any other backend keeps
one cache read per request (tenants/hosts.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)
CHANNEL = "tenancy:changed"
HEARTBEAT = 1.0  # seconds between confirmations
FRESH = 3.0  # a listener confirmed longer ago than this is not trusted
BACKOFF_FIRST = 0.05  # seconds before the first reconnection, doubled up to BACKOFF_MAX
BACKOFF_MAX = 2.0
SOCKET_TIMEOUT = 2.0
STOP_SEEN = 0.25  # seconds a stopped listener may take to notice


class NotConfirmed(redis.ConnectionError):
    """The server did not answer the subscription or a heartbeat in time."""


class TenancyListener:
    """One process's subscription to the tenancy channel, and the host entries it vouches for."""

    def __init__(self, *, url: str, key_prefix: str, generation_key: str, channel: str) -> None:
        self.url = url
        self.key_prefix = key_prefix
        self.generation_key = generation_key
        self.channel = channel
        self.pid = os.getpid()
        self.generation: int | None = None
        self.entries: dict[str, dict[str, Any]] = {}
        self.confirmed_at = 0.0  # time.monotonic() of the last confirmation; 0 while unhealthy
        self._stop = threading.Event()
        self._delay = BACKOFF_FIRST
        self._was_lost = False
        self._thread = threading.Thread(target=self._run, name="tenancy-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def healthy(self) -> bool:
        return time.monotonic() - self.confirmed_at < FRESH

    def entry(self, hostname: str) -> dict[str, Any] | None:
        """The entry kept for ``hostname`` when it may be served without asking Redis."""
        if time.monotonic() - self.confirmed_at >= FRESH:
            return None
        found = self.entries.get(hostname)
        if found is None or found.get("generation") != self.generation:
            return None
        return found

    def keep(self, hostname: str, entry: dict[str, Any]) -> None:
        """Keep an entry read from the shared cache; it is served only while its generation is the
        one the listener last confirmed."""
        self.entries[hostname] = entry

    # --- the listener thread -----------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception:  # noqa: BLE001 - any failure: untrusted until confirmed again
                self._lost()
            if self._stop.wait(self._delay):
                break
            self._delay = min(self._delay * 2, BACKOFF_MAX)
        self._lost(quiet=True)

    def _lost(self, *, quiet: bool = False) -> None:
        self.confirmed_at = 0.0
        self.entries = {}
        self.generation = None
        if not quiet and not self._was_lost:
            self._was_lost = True
            log.warning("tenancy listener lost its Redis connection: hosts read from the cache", exc_info=True)

    def _client(self) -> redis.Redis:
        client: redis.Redis = redis.Redis.from_url(
            self.url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # never reconnect behind our back: messages would be lost
        )
        return client

    def _confirm(self, client: redis.Redis) -> None:
        raw = client.get(self.generation_key)
        generation = int(raw) if raw is not None else 0
        if generation != self.generation:
            self.entries = {}
            self.generation = generation
        self.confirmed_at = time.monotonic()

    def _listen(self) -> None:
        client = self._client()
        pubsub = client.pubsub()  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self.channel)
            deadline = time.monotonic() + SOCKET_TIMEOUT
            while True:
                message = pubsub.get_message(timeout=SOCKET_TIMEOUT)
                if message is not None and message["type"] == "subscribe":
                    break
                if time.monotonic() > deadline:
                    raise NotConfirmed("no subscription confirmed")
            # Subscribed: a change from now on arrives as a message, and the generation read now
            # covers every change before. Entries kept from before are dropped.
            self.entries = {}
            self.generation = None
            self._confirm(client)
            if self._was_lost:
                log.info("tenancy listener reconnected")
            self._was_lost = False
            self._delay = BACKOFF_FIRST
            self._serve(client, pubsub)
        finally:
            self.confirmed_at = 0.0
            pubsub.close()
            client.close()

    def _serve(self, client: redis.Redis, pubsub: Any) -> None:
        ping_at = time.monotonic() + HEARTBEAT
        awaiting_pong = False
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=min(STOP_SEEN, max(0.0, ping_at - time.monotonic())))
            if message is not None:
                kind = message["type"]
                if kind in ("message", "pong"):
                    awaiting_pong = awaiting_pong and kind != "pong"
                    self._confirm(client)
                elif kind == "subscribe":  # subscribed again: anything may have been missed
                    self.entries = {}
                    self.generation = None
                    self._confirm(client)
                else:
                    raise NotConfirmed(f"unexpected {kind} on the tenancy channel")
            if time.monotonic() >= ping_at:
                if awaiting_pong:
                    raise NotConfirmed("heartbeat unanswered")
                pubsub.ping()
                awaiting_pong = True
                ping_at = time.monotonic() + HEARTBEAT


_current: TenancyListener | None = None
_lock = threading.Lock()


def listener_for(cache: Any, *, generation_key: str) -> TenancyListener | None:
    """This process's listener for ``cache`` (started now if need be), watching ``generation_key``;
    ``None`` unless ``cache`` is Redis."""
    if not isinstance(cache, RedisCache):
        return None
    return _listener_of(cache, generation_key=generation_key)


def _listener_of(cache: Any, *, generation_key: str) -> TenancyListener:
    current = _current
    if (
        current is not None
        and current.pid == os.getpid()
        and current.url == cache._servers[0]
        and current.key_prefix == cache.key_prefix
    ):
        return current
    return _listener_start(cache, generation_key=generation_key)


def _listener_start(cache: Any, *, generation_key: str) -> TenancyListener:
    global _current
    with _lock:
        current = _current
        url = cache._servers[0]  # the primary, where the generation is written
        if current is not None and current.pid == os.getpid():
            if current.url == url and current.key_prefix == cache.key_prefix:
                return current
            current.stop()  # another cache configured (tests): follow it
        listener = TenancyListener(
            url=url,
            key_prefix=cache.key_prefix,
            generation_key=cache.make_key(generation_key),
            channel=cache.make_key(CHANNEL),
        )
        listener.start()
        _current = listener
        return listener


def _forked() -> None:
    global _current, _lock
    _current = None  # the parent's, without its thread: never trusted here
    _lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_forked)


def listener_stop() -> None:
    """Stop this process's listener (tests, shutdown); the next lookup starts another."""
    global _current
    with _lock:
        current, _current = _current, None
    if current is not None and current.pid == os.getpid():
        current.stop()
        current.join(SOCKET_TIMEOUT + STOP_SEEN)


def generation_publish(cache: Any, generation: int) -> None:
    """Tell every process's listener that the generation is now ``generation``."""
    if isinstance(cache, RedisCache):
        cache._cache.get_client(None, write=True).publish(cache.make_key(CHANNEL), generation)
