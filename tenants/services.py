"""Onboarding a trading centre from its rule pack: validate, then create or update the tenant."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from baohan.rulepacks.loader import (
    PackProblem,
    RulePackError,
    rulepack_digest,
    rulepack_load_text,
    rulepack_read_text,
)
from baohan.rulepacks.models import RulePack
from tenants.cloning import SchemaCloneError, schema_create_by_clone, schema_name_check, snapshot_current
from tenants.hosts import tenancy_changed
from tenants.models import Domain, RulePackVersion, Tenant

HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


class OnboardingError(Exception):
    """Onboarding was refused; nothing was created or changed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class OnboardResult:
    tenant: Tenant
    version: RulePackVersion
    created: bool = False
    new_version: bool = False
    domains_added: list[str] = field(default_factory=list)
    fields_changed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.created or self.new_version or bool(self.domains_added) or bool(self.fields_changed)

    def summary(self) -> str:
        t, v = self.tenant, self.version
        pack = f"rule pack v{v.number} ({v.label})"
        if self.created:
            return (
                f"Created {t.code} ({t.name}), schema {t.schema_name}, {pack}, domains: {', '.join(self.domains_added)}"
            )
        if not self.changed:
            return f"Unchanged: {t.code} already has this {pack}; nothing to do."
        parts = []
        if self.new_version:
            parts.append(f"published {pack}")
        if self.fields_changed:
            parts.append(f"changed {', '.join(self.fields_changed)}")
        if self.domains_added:
            parts.append(f"added domains {', '.join(self.domains_added)}")
        return f"Updated {t.code}: {'; '.join(parts)}"


def _domains_check(*, code: str, domains: list[str]) -> list[str]:
    problems = []
    platform_hosts = set(settings.PLATFORM_HOSTS)
    for host in domains:
        if not HOSTNAME_RE.match(host):
            problems.append(f"--domain {host!r}: not a valid host name (lower-case letters, digits, '-' and '.')")
        elif host in platform_hosts:
            problems.append(f"--domain {host!r}: this host serves the platform itself")
    owners = dict(Domain.objects.filter(domain__in=domains).values_list("domain", "tenant__code"))
    for host, owner in sorted(owners.items()):
        if owner != code:
            problems.append(f"--domain {host!r}: already serves the centre {owner!r}")
    return problems


def tenant_onboard(*, source_text: str, source_name: str, domains: list[str]) -> OnboardResult:
    """Create or update the tenant described by a rule pack; idempotent.

    Raises RulePackError (pack problems) or OnboardingError (other problems) before
    changing anything. An unchanged pack changes nothing; a changed pack is published as
    the tenant's next version and leaves its data alone.
    """
    pack = rulepack_load_text(source_text, file=source_name)
    code = pack.centre.code
    try:
        schema_name_check(code)
    except SchemaCloneError:
        raise RulePackError([PackProblem(source_name, "centre.code", f"{code!r} is reserved")]) from None
    domains = list(dict.fromkeys(host.strip().lower() for host in domains if host.strip()))
    problems = _domains_check(code=code, domains=domains)
    exists = Tenant.objects.filter(code=code).exists()
    if not exists and not domains:
        problems.append("at least one --domain is needed for a new centre")
    if problems:
        raise OnboardingError(problems)

    if not exists:  # a new centre is cloned: migrate/dump the template first if needed, outside the transaction
        snapshot_current()
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().filter(code=code).first()
        result_created = tenant is None
        if tenant is None:
            schema_create_by_clone(code)
            tenant = Tenant.objects.create(schema_name=code, code=code, name=pack.centre.name, theme=pack.theme)
        version, new_version = _rulepack_publish(
            tenant=tenant, pack=pack, source_text=source_text, source_name=source_name
        )
        fields_changed = []
        for attr, value in (("name", pack.centre.name), ("theme", pack.theme)):
            if getattr(tenant, attr) != value:
                setattr(tenant, attr, value)
                fields_changed.append(attr)
        pack_changed = tenant.current_rule_pack_id != version.pk
        if pack_changed:
            tenant.current_rule_pack = version
        if result_created or new_version or fields_changed:
            tenant.save()
        existing = set(tenant.domains.values_list("domain", flat=True))
        added = [host for host in domains if host not in existing]
        for host in added:
            Domain.objects.create(tenant=tenant, domain=host, is_primary=not existing and host == domains[0])
        if result_created or new_version or fields_changed or added or pack_changed:
            tenancy_changed()
    # The console's figures of the centre (a new one shows zeros; a new pack, its state names).
    from baohan.console.rollup import centre_rollup_refresh

    centre_rollup_refresh(tenant=tenant)
    return OnboardResult(
        tenant=tenant,
        version=version,
        created=result_created,
        new_version=new_version and not result_created,
        domains_added=added,
        fields_changed=[] if result_created else fields_changed,
    )


def tenant_onboard_file(*, path: Path, domains: list[str]) -> OnboardResult:
    return tenant_onboard(source_text=rulepack_read_text(path), source_name=str(path), domains=domains)


def digest_today(version: RulePackVersion) -> str:
    """The digest of a published version's source as this engine reads it ("" if it no longer loads)."""
    try:
        return rulepack_digest(rulepack_load_text(version.source_text, file=version.source_name))
    except RulePackError:
        return ""


def _rulepack_publish(
    *, tenant: Tenant, pack: RulePack, source_text: str, source_name: str
) -> tuple[RulePackVersion, bool]:
    """Store ``pack`` as the tenant's next version unless it is the one in force."""
    digest = rulepack_digest(pack)
    current = tenant.current_rule_pack
    if current is not None and current.digest == digest:
        return current, False
    for published in tenant.rule_packs.filter(label=pack.version).exclude(digest=digest):
        # A digest is taken of the pack as the engine of its day read it: an engine that has since
        # given the pack new defaults reads the same file differently. Same file, same pack.
        if digest_today(published) != digest:
            raise OnboardingError(
                [
                    f"{source_name}: version: {pack.version!r} is already published with other content; "
                    "change the version"
                ]
            )
        if current is not None and published.pk == current.pk:
            return current, False
    last = tenant.rule_packs.aggregate(last=Max("number"))["last"] or 0
    version = RulePackVersion.objects.create(
        tenant=tenant,
        number=last + 1,
        label=pack.version,
        digest=digest,
        source_name=Path(source_name).name,
        source_text=source_text,
        data=pack.model_dump(mode="json"),
    )
    return version, True
