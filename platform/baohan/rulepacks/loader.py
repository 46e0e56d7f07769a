"""Loading and validating rule packs. Every error names the file, the path inside it and the problem."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from baohan.rulepacks.fields import CANONICAL_FIELDS, PACK_CHOICES, FieldKind
from baohan.rulepacks.models import IssuerChoiceMode, LoginMethod, PaymentMethod, RulePack
from baohan.rulepacks.statement_presets import layouts_of


@dataclass(frozen=True)
class PackProblem:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class RulePackError(Exception):
    """A pack failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[PackProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def format_path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_PYDANTIC_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


def _problems_from_validation(file: str, error: ValidationError) -> list[PackProblem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = [part for part in item["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
        message = _PYDANTIC_MESSAGES.get(item["type"], item["msg"])
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(PackProblem(file, format_path(loc), message))
    return problems


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (the later would win silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, *, file: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulePackError([PackProblem(file, where, f"invalid YAML: {problem}")]) from exc


def rulepack_validate(data: Any, *, file: str) -> RulePack:
    """Validate parsed pack data; raise RulePackError listing every problem."""
    if not isinstance(data, dict):
        raise RulePackError([PackProblem(file, "", "a rule pack must be a mapping of keys to values")])
    try:
        pack = RulePack.model_validate(data)
    except ValidationError as exc:
        raise RulePackError(_problems_from_validation(file, exc)) from exc
    problems = [PackProblem(file, path, message) for path, message in _consistency_problems(pack)]
    if problems:
        raise RulePackError(problems)
    return pack


def rulepack_load_text(text: str, *, file: str) -> RulePack:
    return rulepack_validate(parse_yaml(text, file=file), file=file)


def rulepack_read_text(path: Path) -> str:
    """A pack file's text; an unreadable file is a pack problem like any other."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulePackError([PackProblem(str(path), "", f"cannot read file: {exc}")]) from exc


def rulepack_load_file(path: Path) -> tuple[RulePack, str]:
    """Load a pack from disk; returns the pack and its source text."""
    text = rulepack_read_text(path)
    return rulepack_load_text(text, file=str(path)), text


def rulepack_canonical_json(pack: RulePack) -> str:
    return json.dumps(pack.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def rulepack_digest(pack: RulePack) -> str:
    return hashlib.sha256(rulepack_canonical_json(pack).encode()).hexdigest()


def _duplicates(values: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    dupes: set[str] = set()
    for value in values:
        (dupes if value in seen else seen).add(value)
    return dupes


def _consistency_problems(pack: RulePack) -> list[tuple[str, str]]:
    """Cross-references the schema alone cannot express."""
    problems: list[tuple[str, str]] = []
    deposit_kinds = {offer.kind for offer in pack.products.deposit_kinds}
    issuer_kinds = {offer.kind for offer in pack.products.issuer_kinds}
    project_types = {pt.code for pt in pack.sections.project_types}

    for code in _duplicates(issuer.code for issuer in pack.issuers):
        problems.append(("issuers", f"issuer code {code!r} is used twice"))
    for i, issuer in enumerate(pack.issuers):
        if issuer.kind not in issuer_kinds:
            problems.append((f"issuers[{i}].kind", f"{issuer.kind.value!r} is not offered in products.issuer_kinds"))
        for j, kind in enumerate(issuer.deposit_kinds):
            if kind not in deposit_kinds:
                problems.append(
                    (f"issuers[{i}].deposit_kinds[{j}]", f"{kind.value!r} is not offered in products.deposit_kinds")
                )

    choice = pack.issuer_choice
    if choice.mode == IssuerChoiceMode.RANDOM_ALLOCATION and len(pack.issuers) < 2:
        problems.append(("issuer_choice.mode", "random allocation needs at least two issuers on the panel"))
    if choice.mode == IssuerChoiceMode.RANDOM_ALLOCATION and not choice.platform_label:
        problems.append(("issuer_choice.platform_label", "random allocation needs the label the bidder picks"))
    if choice.max_selected is not None and choice.mode != IssuerChoiceMode.MULTI_SELECT:
        problems.append(("issuer_choice.max_selected", "only meaningful with mode multi_select"))
    if choice.max_selected is not None and choice.max_selected > len(pack.issuers):
        problems.append(
            ("issuer_choice.max_selected", f"{choice.max_selected} is more than the {len(pack.issuers)} issuers listed")
        )
    for code in _duplicates(consent.code for consent in choice.consents):
        problems.append(("issuer_choice.consents", f"consent code {code!r} is used twice"))

    if pack.login.reset_by_sms and LoginMethod.PASSWORD not in pack.login.methods:
        problems.append(("login.reset_by_sms", "resetting a password needs the password login method"))
    if LoginMethod.PLATFORM_HANDOFF in pack.login.methods and pack.login.handoff is None:
        problems.append(
            ("login.handoff", "the platform_handoff login method needs login.handoff (at least its issuer)")
        )
    if pack.login.handoff is not None and LoginMethod.PLATFORM_HANDOFF not in pack.login.methods:
        problems.append(("login.handoff", "only meaningful with the platform_handoff login method"))
    if pack.login.ca_key is not None and LoginMethod.CA_KEY not in pack.login.methods:
        problems.append(("login.ca_key", "only meaningful with the ca_key login method"))
    if pack.login.self_registration and not {LoginMethod.PASSWORD, LoginMethod.SMS_CODE} & set(pack.login.methods):
        problems.append(("login.self_registration", "registration needs the password or sms_code login method"))

    takes_transfers = {PaymentMethod.OFFLINE_TRANSFER, PaymentMethod.VOUCHER} & set(pack.payment.methods)
    if takes_transfers:
        for i, issuer in enumerate(pack.issuers):
            if issuer.receiving_account is None:
                problems.append(
                    (f"issuers[{i}].receiving_account", "offline transfers need the issuer's receiving account")
                )

    auto = pack.underwriting.auto_approve
    if auto is not None:
        for j, code in enumerate(auto.project_types or []):
            if code not in project_types:
                problems.append((f"underwriting.auto_approve.project_types[{j}]", f"unknown project type {code!r}"))
        for j, kind in enumerate(auto.deposit_kinds or []):
            if kind not in deposit_kinds:
                problems.append(
                    (f"underwriting.auto_approve.deposit_kinds[{j}]", f"{kind.value!r} is not offered in products")
                )

    for form_name in ("application", "enterprise", "voucher", "refund_account"):
        fields = getattr(pack.forms, form_name)
        for name in _duplicates(f.name for f in fields):
            problems.append((f"forms.{form_name}", f"field {name!r} appears twice"))
        for i, form_field in enumerate(fields):
            path = f"forms.{form_name}[{i}]"
            canonical = CANONICAL_FIELDS[form_field.name]
            if form_name not in canonical.forms:
                problems.append((f"{path}.name", f"field {form_field.name!r} does not belong on the {form_name} form"))
            if canonical.kind == FieldKind.FILE and form_field.upload is None:
                problems.append((f"{path}.upload", "a file field needs upload limits (max_mb, types)"))
            if canonical.kind != FieldKind.FILE and form_field.upload is not None:
                problems.append((f"{path}.upload", f"field {form_field.name!r} is not a file field"))
            if form_field.choices is not None and canonical.kind != FieldKind.CHOICE:
                problems.append((f"{path}.choices", f"field {form_field.name!r} is not a choice field"))
            if canonical.kind == FieldKind.CHOICE and not form_field.choices and form_field.name not in PACK_CHOICES:
                problems.append((f"{path}.choices", f"choice field {form_field.name!r} needs its choices"))

    problems.extend(_group_problems(pack))

    if pack.enterprise.source.value == "self_verification" and not pack.forms.enterprise:
        problems.append(("forms.enterprise", "self verification needs the enterprise form's fields"))

    payment = pack.payment
    if PaymentMethod.VOUCHER in payment.methods and not pack.forms.voucher:
        problems.append(("forms.voucher", "voucher payment needs the voucher form (with its upload limits)"))
    if payment.online_channels and PaymentMethod.ONLINE not in payment.methods:
        problems.append(("payment.online_channels", "online channels are listed but online payment is not enabled"))
    if PaymentMethod.ONLINE in payment.methods and not payment.online_channels:
        problems.append(("payment.online_channels", "online payment needs at least one channel"))
    for code in _duplicates(layout.code for layout in payment.statement_layouts):
        problems.append(("payment.statement_layouts", f"layout code {code!r} is used twice"))
    known_layouts = layouts_of(list(payment.statement_layouts))
    for i, issuer in enumerate(pack.issuers):
        account = issuer.receiving_account
        if account is not None and account.statement_layout not in known_layouts:
            problems.append(
                (
                    f"issuers[{i}].receiving_account.statement_layout",
                    f"unknown layout {account.statement_layout!r}; known: {', '.join(sorted(known_layouts))}",
                )
            )
    for code in _duplicates(str(hours) for hours in payment.reminders_before_deadline_hours):
        problems.append(("payment.reminders_before_deadline_hours", f"{code} hours is listed twice"))
    seen_types: set[str] = set()
    for i, payer_rule in enumerate(payment.payer_rules):
        for j, code in enumerate(payer_rule.project_types):
            if code not in project_types:
                problems.append((f"payment.payer_rules[{i}].project_types[{j}]", f"unknown project type {code!r}"))
            elif code in seen_types:
                problems.append(
                    (f"payment.payer_rules[{i}].project_types[{j}]", f"project type {code!r} has two rules")
                )
            seen_types.add(code)

    for code in _duplicates(rule.code for rule in pack.refund_rules):
        problems.append(("refund_rules", f"rule code {code!r} is used twice"))
    for i, rule in enumerate(pack.refund_rules):
        when = rule.when
        if when.bid_opened is None and when.trigger is None and when.section_status is None:
            problems.append((f"refund_rules[{i}].when", "a rule must state at least one condition"))
        if when.trigger and when.trigger.value == "bidder_abandons" and when.section_status:
            problems.append(
                (f"refund_rules[{i}].when.section_status", "a bidder's abandonment does not depend on a section status")
            )
        if when.trigger and when.trigger.value == "section_event" and not when.section_status:
            problems.append((f"refund_rules[{i}].when.section_status", "a section event rule must name the statuses"))
    if pack.refund_rules and not pack.refund.enabled:
        problems.append(("refund_rules", "rules are listed but refunds are disabled (refund.enabled)"))

    for code in _duplicates(category.code for category in pack.after_sales):
        problems.append(("after_sales", f"category code {code!r} is used twice"))

    for form_kind in _duplicates(kind.form.value for kind in pack.invoice.kinds):
        problems.append(("invoice.kinds", f"invoice form {form_kind!r} is listed twice"))

    return problems


def _group_problems(pack: RulePack) -> list[tuple[str, str]]:
    """The application form's groups: each field in exactly one known group, each group used."""
    problems: list[tuple[str, str]] = []
    groups = pack.forms.application_groups
    codes = [group.code for group in groups]
    for code in _duplicates(codes):
        problems.append(("forms.application_groups", f"group code {code!r} is used twice"))
    if sum(1 for group in groups if group.issuer_choice) > 1:
        problems.append(("forms.application_groups", "only one group may show the issuer choice"))
    known = ", ".join(codes)
    used: set[str] = set()
    for i, form_field in enumerate(pack.forms.application):
        path = f"forms.application[{i}]"
        if form_field.group is None:
            if groups:
                problems.append(
                    (
                        f"{path}.group",
                        f"field {form_field.name!r} is in no group; every application field needs one of: {known}",
                    )
                )
        elif form_field.group not in codes:
            problems.append(
                (
                    f"{path}.group",
                    f"unknown group {form_field.group!r}; "
                    + (f"groups: {known}" if groups else "forms.application_groups lists none"),
                )
            )
        else:
            used.add(form_field.group)
    for j, group in enumerate(groups):
        if group.code not in used and not group.issuer_choice:
            problems.append((f"forms.application_groups[{j}]", f"group {group.code!r} has no fields"))
    for form_name in ("enterprise", "voucher", "refund_account"):
        for i, form_field in enumerate(getattr(pack.forms, form_name)):
            if form_field.group is not None:
                problems.append((f"forms.{form_name}[{i}].group", "groups are for the application form only"))
    return problems
