"""Identity in the centre's own schema: phones, SMS codes and messages, login nonces,
hand-off keys, trusted CA roots and enterprise verification requests.

Models carry no logic; services in ``services/`` change them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from baohan.identity.fields import EncryptedCharField


class UserPhone(models.Model):
    """The phone a bidder account signs in with (allauth's phone storage)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone")
    phone = models.CharField("手机号码", max_length=11, unique=True)
    verified = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.phone


class SmsCode(models.Model):
    """A code sent for one purpose to one phone; kept hashed; single use, few tries."""

    class Purpose(models.TextChoices):
        PASSWORD_RESET = "password_reset", "找回密码"
        APPLICATION = "application", "提交投保申请"
        ABANDON = "abandon", "放弃购买"
        REFUND_ACCOUNT = "refund_account", "确认退费账户"
        ENTERPRISE = "enterprise", "企业认证"
        REGISTRATION = "registration", "注册"
        ISSUER_LOGIN = "issuer_login", "出函机构工作台登录"

    phone = models.CharField(max_length=11)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["phone", "purpose", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose}:{self.phone}"


class SmsMessage(models.Model):
    """One text to send. Delivery is at most once: a message leaves ``queued`` only once."""

    class Status(models.TextChoices):
        QUEUED = "queued", "待发送"
        SENDING = "sending", "发送中"
        SENT = "sent", "已发送"
        REJECTED = "rejected", "被拒绝"
        UNKNOWN = "unknown", "结果未知"
        EXPIRED = "expired", "已过期"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    phone = models.CharField(max_length=11)
    template = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    text = models.CharField(max_length=300, blank=True)
    backend = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_message_id = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.template} {self.status}"


class LoginNonce(models.Model):
    """A challenge for a CA-key login: issued once, answered once, shortly."""

    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.nonce


class TrustedCaRoot(models.Model):
    """A CA root this centre trusts for CA-key logins (tenant configuration)."""

    name = models.CharField(max_length=200)
    certificate_pem = models.TextField()
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    not_after = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class EnterpriseCertificate(models.Model):
    """A certificate that has logged in, and the account it logs in as."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certificates")
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    serial_number = models.CharField(max_length=64)
    issuer = models.CharField(max_length=300)
    uscc = models.CharField(max_length=18)
    not_after = models.DateTimeField()
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.fingerprint_sha256[:16]


class HandoffKey(models.Model):
    """The trading platform's key for signed hand-offs (tenant configuration, never in YAML)."""

    key_id = models.CharField(max_length=40, unique=True)
    secret = EncryptedCharField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the key is rotated: tokens it signs are accepted until then (the overlap), never after.
    retire_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key_id


class IntegrationSetting(models.Model):
    """One value of a centre's own integration settings (SMS provider, Stripe), preferred to the
    platform's global settings. Encrypted at rest; a secret is never shown again, only its last
    characters. The value in force has no ``expires_at``; a replaced value keeps one (a replaced
    webhook secret stays valid for an overlap, any other replaced value expires at once)."""

    class Kind(models.TextChoices):
        SMS = "sms", "短信服务"
        STRIPE = "stripe", "Stripe 在线支付"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=40)
    value = EncryptedCharField(blank=True)  # a secret, encrypted at rest
    text = models.CharField(max_length=500, blank=True)  # a value that is not secret (a provider, a sign name)
    is_secret = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "name"], condition=models.Q(expires_at__isnull=True), name="integration_setting_current"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}.{self.name}"

    @property
    def current_value(self) -> str:
        return str(self.value if self.is_secret else self.text)


class HandoffUse(models.Model):
    """A hand-off token's id, kept until it expires so it is accepted once."""

    jti = models.CharField(max_length=100, unique=True)
    key_id = models.CharField(max_length=40)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.jti


class EnterpriseVerification(models.Model):
    """企业信息认证: what a bidder submitted, and the centre's decision."""

    class State(models.TextChoices):
        PENDING = "pending", "审核中"
        APPROVED = "approved", "已通过"
        REJECTED = "rejected", "未通过"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="verifications")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    enterprise_name = models.CharField("企业名称", max_length=200)
    uscc = models.CharField("统一社会信用代码", max_length=18)
    legal_rep_name = models.CharField("法人姓名", max_length=100)
    legal_rep_id_type = models.CharField("证件类型", max_length=40)
    legal_rep_id_number = EncryptedCharField("证件号码")
    licence = models.ForeignKey("guarantees.Upload", on_delete=models.PROTECT, related_name="+")
    operator_name = models.CharField("经办人姓名", max_length=100, blank=True)
    details = models.JSONField("企业信息完善", default=dict, blank=True)
    reason = models.CharField("审核意见", max_length=500, blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(state="pending"), name="verification_one_pending_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_name} {self.state}"


class AccountEvent(models.Model):
    """One row per identity change: a login, an enterprise created or synchronised, a review."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=40)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    actor_kind = models.CharField(max_length=10)
    actor_label = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.kind
