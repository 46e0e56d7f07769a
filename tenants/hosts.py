"""Host → centre, read from a cache every process shares (Redis when configured), not the database.

Each entry holds the centre's row and the id, number and label of its pack in force (never the pack
itself: the parsed pack is kept per process by version, tenants/selectors.py). Entries carry the
*tenancy generation*: any change to a centre, its domains or its pack in force calls
``tenancy_changed()``, which moves the generation on, so every process's next request reads the
database again. With a Redis cache the new generation is also published, and each process keeps
the entries it read in memory while its listener confirms the generation (tenants/push.py): a warm
request then costs no cache round trip at all, and with ``TENANT_LIMIT_SET_CALLS`` one
``SET search_path``. Without the listener's confirmation (Redis down, the connection lost), or with
another cache, a request costs one cache round trip (generation and entry together).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from typing import Any

from django.core.cache import caches
from django.db import transaction

from tenants import push
from tenants.models import Domain, RulePackVersion, Tenant

log = logging.getLogger(__name__)
GENERATION_KEY = "tenancy:generation"
HOST_TTL = 600  # seconds; a safety net only: changes move the generation on at once
_TENANT_FIELDS = tuple(f.attname for f in Tenant._meta.concrete_fields)
_PACK_FIELDS = ("id", "tenant_id", "number", "label", "digest")
# An entry is a list of values in this order: the order is part of the key, so during a rolling
# release a process whose Tenant has another set of fields never reads the other version's entries.
ENTRY_SHAPE = hashlib.sha256(repr((_TENANT_FIELDS, _PACK_FIELDS)).encode()).hexdigest()[:12]


def _cache() -> Any:
    return caches["global"]


def _host_key(hostname: str) -> str:
    return f"tenancy:host:{ENTRY_SHAPE}:{hostname}"


def _generation_bump() -> None:
    cache = _cache()
    try:
        try:
            generation = int(cache.incr(GENERATION_KEY))
        except ValueError:  # not set yet (or evicted): any new value differs from what entries carry
            generation = 1
            cache.set(GENERATION_KEY, generation, None)
    except Exception:  # the cache is down: entries expire with it, requests read the database
        log.warning("tenancy cache unreachable: generation not moved on", exc_info=True)
        return
    try:
        push.generation_publish(cache, generation)
    except Exception:  # listeners read the generation on their next heartbeat instead
        log.warning("tenancy generation %s not published", generation, exc_info=True)


def tenancy_changed() -> None:
    """A centre, its domains or its pack in force changed: every process reads them again. Moved on
    now and again when the transaction commits (so no request caches what it read in between)."""
    _generation_bump()
    transaction.on_commit(_generation_bump)


def _entry(domain: Domain, generation: int) -> dict[str, Any]:
    tenant = domain.tenant
    pack = tenant.current_rule_pack
    return {
        "generation": generation,
        "tenant": [getattr(tenant, name) for name in _TENANT_FIELDS],
        "pack": [getattr(pack, name) for name in _PACK_FIELDS] if pack is not None else None,
    }


def _tenant_of(entry: dict[str, Any]) -> Tenant:
    tenant: Tenant = Tenant.from_db("default", list(_TENANT_FIELDS), list(entry["tenant"]))
    if entry["pack"] is not None:
        # Only what requests read (the number decisions record, the label); the rest loads if asked.
        pack = RulePackVersion.from_db("default", list(_PACK_FIELDS), list(entry["pack"]))
        tenant._state.fields_cache["current_rule_pack"] = pack
    return tenant


def tenant_for_host(hostname: str) -> Tenant:
    """The active centre served at ``hostname``; ``Domain.DoesNotExist`` when there is none."""
    cache = _cache()
    listener = push.listener_for(cache, generation_key=GENERATION_KEY)
    if listener is not None and (kept := listener.entry(hostname)) is not None:
        return _tenant_of(kept)
    key = _host_key(hostname)
    try:
        found = cache.get_many([GENERATION_KEY, key])
    except Exception:  # the cache is down: serve from the database, cache nothing
        log.warning("tenancy cache unreachable: %s read from the database", hostname, exc_info=True)
        return _tenant_of(_entry(_domain_read(hostname), -1))
    generation = int(found.get(GENERATION_KEY) or 0)
    entry = found.get(key)
    if entry is None or entry.get("generation") != generation:
        entry = _entry(_domain_read(hostname), generation)
        with contextlib.suppress(Exception):  # a cache that fails now is read around next time
            cache.set(key, entry, HOST_TTL)
    if listener is not None:
        listener.keep(hostname, entry)
    return _tenant_of(entry)


def _domain_read(hostname: str) -> Domain:
    domain: Domain = (
        Domain.objects.select_related("tenant", "tenant__current_rule_pack")
        .defer("tenant__current_rule_pack__data", "tenant__current_rule_pack__source_text")
        .get(domain=hostname, tenant__is_active=True)
    )
    return domain
