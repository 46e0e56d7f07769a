"""Every console action is recorded: who, when, on which centre, what changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from baohan.console.models import ConsoleAction
from tenants.models import Tenant


def console_action_record(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    tenant: Tenant | None = None,
    detail: dict[str, Any] | None = None,
) -> ConsoleAction:
    user = actor if isinstance(actor, User) else None
    return ConsoleAction.objects.create(
        actor=user,
        actor_label=(user.get_username() if user else "命令行")[:200],
        tenant=tenant,
        action=action,
        detail=detail or {},
    )


# --- the action log in words -------------------------------------------------------------------------

_KIND_WORDS = {"centre": "交易中心", "issuer": "出函机构"}
_ROLE_WORDS = {
    "platform_admin": "平台管理员",
    "centre_staff": "交易中心工作人员",
    "issuer_staff": "出函机构工作人员",
}
_BULK_WORDS = {"revalidate": "重新校验规则包", "migrate": "迁移全部数据库结构"}
_ACCOUNT_WORDS = {  # baohan.console.users
    "user_account_create": "新建{kind}账户",
    "user_account_update": "更新{kind}账户",
    "user_password_reset": "为{kind}重新生成密码",
    "user_deactivate": "停用{kind}账户",
    "user_reactivate": "启用{kind}账户",
}
_FACT_LABELS: dict[str, str] = {
    "key_id": "编号",
    "new_key_id": "新编号",
    "overlap_hours": "过渡期（小时）",
    "expires_at": "旧凭证失效时间",
    "retire_at": "旧密钥失效时间",
    "name": "名称",
    "fingerprint_sha256": "SHA-256 指纹",
    "provider": "服务商",
    "changed": "改动项",
    "integration": "配置",
    "operation": "批量操作编号",
    "plan": "计费方案",
    "previous": "原方案",
    "period": "期间",
    "outcome": "结果",
    "guarantees_issued": "出函笔数",
    "amount": "金额（元）",
    "invoice": "Stripe 账单",
    "error": "错误",
    "monthly_fee": "月费（元）",
    "per_guarantee_fee": "每笔费用（元）",
    "premium_share": "保费分成",
    "username": "用户名",
    "kind": "类型",
    "issuer": "出函机构",
    "domains_added": "新增域名",
    "days": "预览范围（天）",
}


@dataclass(frozen=True)
class ActionWords:
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    changes: list[dict[str, str]] = field(default_factory=list)


def _v(number: Any, label: Any = "") -> str:
    return f"V{number}（{label}）" if label else f"V{number}"


def _fact(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        return value[:16].replace("T", " ")
    return str(value)


def _title(action: str, d: dict[str, Any]) -> str:
    key = d.get("key_id", "")
    if action == "pack_publish":
        return f"发布规则包 {_v(d.get('to_version'), d.get('label'))}"
    if action == "theme_publish":
        return f"发布站点主题，规则包 {_v(d.get('to_version'), d.get('label'))}"
    if action == "pack_rollback":
        return f"回滚规则包：V{d.get('restored')} 重新发布为 {_v(d.get('to_version'), d.get('label'))}"
    if action == "tenant_onboard":
        verb = "接入交易中心" if d.get("created") else "更新交易中心"
        return f"{verb}，规则包 {_v(d.get('version'), d.get('label'))}"
    if action == "role_grant":
        role = _ROLE_WORDS.get(str(d.get("kind", "")), str(d.get("kind", "")))
        issuer = f"（{d['issuer']}）" if d.get("issuer") else ""
        return f"授予 {d.get('username', '')} 角色：{role}{issuer}"
    if action == "api_credential_create":
        return f"创建{_KIND_WORDS.get(str(d.get('kind')), '')}接口凭证 {key}"
    if action == "api_credential_rotate":
        return f"轮换接口凭证 {key} → {d.get('new_key_id', '')}"
    if action == "api_credential_revoke":
        return f"停用接口凭证 {key}"
    if action == "handoff_key_add":
        return f"添加跳转登录密钥 {key}"
    if action == "handoff_key_rotate":
        return f"轮换跳转登录密钥 {key} → {d.get('new_key_id', '')}"
    if action == "handoff_key_revoke":
        return f"停用跳转登录密钥 {key}"
    if action == "ca_root_add":
        return f"添加受信任的 CA 根证书「{d.get('name', '')}」"
    if action == "ca_root_remove":
        return f"移除 CA 根证书「{d.get('name', '')}」"
    if action == "sms_settings_set":
        return "保存本中心的短信服务配置"
    if action == "stripe_settings_set":
        return "保存本中心的 Stripe 配置"
    if action.endswith("_settings_clear"):
        return f"删除本中心的{'短信服务' if action.startswith('sms') else 'Stripe'}配置，恢复平台默认"
    if action in _ACCOUNT_WORDS:
        kind = _ROLE_WORDS.get(str(d.get("kind", "")), str(d.get("kind", "")))
        verb = _ACCOUNT_WORDS[action].format(kind=kind) + ("并重新生成密码" if d.get("new_password") else "")
        where = "，".join(str(v) for v in (d.get("phone"), d.get("issuer_name")) if v)
        return f"{verb}：{d.get('name') or '—'}（{where}）"
    if action.startswith("bulk_"):
        return f"批量操作：{_BULK_WORDS.get(action.removeprefix('bulk_'), action)}"
    if action == "billing_plan_create":
        return f"新建计费方案 {d.get('plan', '')}"
    if action == "billing_plan_assign":
        was = f"由 {d['previous']} " if d.get("previous") else ""
        return f"计费方案{was}改为 {d.get('plan', '')}"
    if action == "billing_usage_report":
        return f"上报 {d.get('period', '')} 用量"
    return action


_SHOWN_IN_TITLE = {
    "pack_publish": {"to_version", "label", "new_version", "diff", "changes", "from_label"},
    "theme_publish": {"to_version", "label", "new_version", "diff", "from_label"},
    "pack_rollback": {"to_version", "label", "restored", "new_version", "diff", "from_label"},
    "tenant_onboard": {"created", "version", "label"},
    "role_grant": {"username", "kind", "issuer"},
    **{key: {"kind", "name", "phone", "issuer", "issuer_name", "new_password"} for key in _ACCOUNT_WORDS},
}


def action_describe(action: ConsoleAction) -> ActionWords:
    """A console action in words: a title such as 「发布规则包 V3（2026.12-1）」, the facts that are not
    in the title, and, for a pack version, what it changed key by key."""
    d = action.detail if isinstance(action.detail, dict) else {}
    hidden = _SHOWN_IN_TITLE.get(action.action, {"key_id", "new_key_id", "name", "plan", "period", "previous"})
    facts: list[tuple[str, str]] = []
    if "from_version" in d:
        hidden = {*hidden, "from_version"}
        if d.get("from_version"):
            facts.append(("取代", _v(d["from_version"], d.get("from_label", ""))))
        if action.action == "pack_publish" and "changes" in d:
            facts.append(("预览", f"最近 {d.get('days', 30)} 天的判定中有 {d['changes']} 项会改变"))
            hidden = {*hidden, "days"}
    for name, value in d.items():
        if name in hidden or name == "secret":
            continue
        facts.append((_FACT_LABELS.get(name, str(name)), _fact(value)))
    diff = d.get("diff")
    changes: list[dict[str, str]] = [row for row in diff if isinstance(row, dict)] if isinstance(diff, list) else []
    return ActionWords(title=_title(action.action, d), facts=facts, changes=changes)
