"""The rule pack: everything that differs between trading centres, as typed data.

One schema for every pack. Unknown keys are errors (``extra="forbid"``). The engine asks
the pack; it never branches on a region's name. Canonical names (field names, states,
statuses) are the engine's vocabulary; labels are the region's words for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from baohan.rulepacks.fields import CANONICAL_FIELDS

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
HexColour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9][0-9-]{4,19}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


# --- vocabulary ------------------------------------------------------------------------


class LoginMethod(StrEnum):
    PLATFORM_HANDOFF = "platform_handoff"  # signed hand-off from the trading platform
    CA_KEY = "ca_key"  # enterprise certificate on a USB key (CA锁)
    SMS_CODE = "sms_code"  # phone + SMS code
    PASSWORD = "password"  # phone + password  # noqa: S105 - a login method name


class HumanCheck(StrEnum):
    IMAGE_CAPTCHA = "image_captcha"
    SLIDER = "slider"
    NONE = "none"


class EnterpriseSource(StrEnum):
    APPLICATION_FORM = "application_form"  # the bidder types account details into each application
    PLATFORM_SYNC = "platform_sync"  # synchronised from the trading platform on first login
    SELF_VERIFICATION = "self_verification"  # the bidder submits documents, staff review them


class DepositKind(StrEnum):
    BID = "bid"
    PERFORMANCE = "performance"
    MIGRANT_WAGE = "migrant_wage"
    QUALITY = "quality"


class IssuerKind(StrEnum):
    INSURER = "insurer"
    GUARANTEE_COMPANY = "guarantee_company"
    BANK = "bank"


class IssuerChoiceMode(StrEnum):
    SINGLE_PICK = "single_pick"  # the bidder picks one issuer
    RANDOM_ALLOCATION = "random_allocation"  # the platform draws one at random, auditably
    MULTI_SELECT = "multi_select"  # several are asked; the first to accept underwrites


class PaymentMethod(StrEnum):
    OFFLINE_TRANSFER = "offline_transfer"
    VOUCHER = "voucher"
    ONLINE = "online"


class OnlineChannel(StrEnum):
    CARD = "card"
    ALIPAY = "alipay"
    WECHAT_PAY = "wechat_pay"


class PayerAccount(StrEnum):
    BASIC_ACCOUNT = "basic_account"  # the enterprise's 基本户: number and name must match
    ENTERPRISE_ACCOUNT = "enterprise_account"  # any account in the applicant's name
    ANY = "any"  # personal or enterprise online banking


class PolicyBeforeOpening(StrEnum):
    ENCRYPTED = "encrypted"
    NONE = "none"
    PLAIN = "plain"


class SectionStatus(StrEnum):
    ACCEPTING = "accepting"
    SUSPENDED = "suspended"  # 中止
    PAUSED = "paused"  # 暂停
    TERMINATED = "terminated"  # 终止
    FAILED_TENDER = "failed_tender"  # 流标
    OPENED = "opened"  # 已开标


class RefundTrigger(StrEnum):
    BIDDER_ABANDONS = "bidder_abandons"
    SECTION_EVENT = "section_event"


class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class InvoiceForm(StrEnum):
    ELECTRONIC = "electronic"
    PAPER = "paper"


class InvoiceType(StrEnum):
    VAT_GENERAL = "vat_general"
    VAT_SPECIAL = "vat_special"


class InvoiceCondition(StrEnum):
    BID_OPENED = "bid_opened"
    ORDER_COMPLETED = "order_completed"


class Milestone(StrEnum):
    """Points in an order's life that a progress step can be reached at."""

    SUBMITTED = "submitted"
    UNDERWRITING_APPROVED = "underwriting_approved"
    PAYMENT_SUBMITTED = "payment_submitted"
    PAYMENT_CONFIRMED = "payment_confirmed"
    ISSUED = "issued"
    COMPLETED = "completed"
    REFUND_REQUESTED = "refund_requested"
    REFUND_REVIEWED = "refund_reviewed"
    REFUNDED = "refunded"


class OrderState(StrEnum):
    """The canonical states of a guarantee order; packs label them in the region's words."""

    DRAFT = "draft"  # 申请中: filled in, not yet submitted
    UNDERWRITING = "underwriting"  # 等待审核 / 投保审核 / 待保险审核
    AWAITING_PAYMENT = "awaiting_payment"  # 待支付 / 待支付订单
    PAYMENT_REVIEW = "payment_review"  # 缴纳审批: a voucher or transfer waits for confirmation
    PAYMENT_FAILED = "payment_failed"  # 支付失败: wrong account, amount or remark
    AWAITING_ISSUE = "awaiting_issue"  # 待出函: paid, not yet issued
    ISSUED = "issued"  # 投保成功 / 已完成 / 订单已完成
    REJECTED = "rejected"  # 核保未通过
    CANCELLED = "cancelled"  # 已取消
    ABANDONED = "abandoned"  # 放弃
    SURRENDERED = "surrendered"  # 已退保 / 退保成功


class AfterSalesKind(StrEnum):
    PAID_NOT_ISSUED = "paid_not_issued"  # 已支付，未出函
    PAYMENT_REFUND = "payment_refund"  # 申请退费 (including a duplicate payment)
    OTHER = "other"


class FileType(StrEnum):
    JPG = "jpg"
    JPEG = "jpeg"
    PNG = "png"
    PDF = "pdf"


# --- parts -----------------------------------------------------------------------------


class Centre(Strict):
    code: Code = Field(description="Stable identifier; also the tenant's schema name.")
    name: Label = Field(description="The trading centre's name, shown on its site.")
    site_title: Label
    theme: Code | None = Field(
        default=None, description="Folder under themes/; defaults to the code, falls back to base."
    )
    hotlines: list[Phone] = Field(min_length=1)
    wechat_account: Label | None = None
    primary_colour: HexColour = "#1f5fbf"
    accent_colour: HexColour = "#f28c28"
    logo: str | None = Field(default=None, description="Path inside the theme's static folder.")
    footer_text: Label | None = None
    entry_hint: Label | None = Field(default=None, description="How bidders reach the site, shown on the landing page.")


class Consent(Strict):
    code: Code
    label: Label
    documents: list[Label] = Field(default_factory=list)
    notice_title: Label | None = Field(default=None, description="A notice read before consenting, e.g. 特别提示.")
    notice: list[Label] = Field(default_factory=list, description="The notice's paragraphs, shown above the consent.")


UsccAttribute = Annotated[
    str,
    StringConstraints(
        pattern=r"^(serial_number|organizational_unit|common_name|organization|uid|oid:[0-2](\.[0-9]+)+)$"
    ),
]


class CaKeyLogin(Strict):
    """CA-key login: where the enterprise's USCC sits in its certificate, and how long a challenge lives."""

    uscc_attributes: list[UsccAttribute] = Field(
        default_factory=lambda: ["serial_number", "organizational_unit", "common_name"],
        min_length=1,
        description="Subject attributes searched, in order, for the USCC.",
    )
    challenge_seconds: Annotated[int, Field(ge=30, le=600)] = 120
    driver_hint: Label | None = Field(default=None, description="What the bidder installs: the CA's driver, its name.")


class HandoffLogin(Strict):
    """Hand-off from the trading platform: a token signed with the centre's key (kept in tenant configuration)."""

    issuer: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="The token's iss claim: who signs hand-offs."
    )
    max_lifetime_seconds: Annotated[int, Field(ge=30, le=300)] = 300
    entry_url: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="Where bidders start on the trading platform: an http:// or https:// address."
    )

    @field_validator("entry_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        """Shown as a link to bidders: only a web address on a host, never ``javascript:`` or the like."""
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in {"http", "https"} or not parts.hostname or any(c.isspace() for c in value):
                raise ValueError("must be an http:// or https:// address (https://ggzy.example.gov.cn/)")
        return value


class Login(Strict):
    methods: list[LoginMethod] = Field(min_length=1)
    ca_key: CaKeyLogin | None = None
    handoff: HandoffLogin | None = None
    self_registration: bool = False
    reset_by_sms: bool = Field(default=False, description="忘记密码: the bidder resets the password with an SMS code.")
    human_check: HumanCheck = HumanCheck.IMAGE_CAPTCHA
    registration_consents: list[Consent] = Field(default_factory=list)

    @field_validator("methods")
    @classmethod
    def _unique(cls, value: list[LoginMethod]) -> list[LoginMethod]:
        if len(set(value)) != len(value):
            raise ValueError("a login method is listed twice")
        return value


class Upload(Strict):
    max_mb: Annotated[Decimal, Field(gt=0, le=50)]
    types: list[FileType] = Field(min_length=1)


class Choice(Strict):
    code: Code
    label: Label


class FormField(Strict):
    name: str = Field(description="Canonical field name known to the engine.")
    label: Label = Field(description="The region's alias for the field.")
    required: bool = False
    hint: Label | None = None
    upload: Upload | None = None
    choices: list[Choice] | None = None
    group: Code | None = Field(
        default=None, description="Application form only: the code of the group (forms.application_groups) it sits in."
    )

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CANONICAL_FIELDS:
            raise ValueError(f"unknown field name {value!r}; known names: {', '.join(sorted(CANONICAL_FIELDS))}")
        return value


class FormGroup(Strict):
    """One heading of the application form as the manual draws it (标段信息, 投保人信息 …), in order."""

    code: Code
    title: Label
    note: Label | None = Field(default=None, description="A short line beside the title.")
    notices: list[Label] = Field(default_factory=list, description="The group's own 温馨提醒.")
    issuer_choice: bool = Field(
        default=False, description="The issuer choice (出函机构) is shown in this group, before its fields."
    )


class ApplicationButtons(Strict):
    """The wizard's buttons in the manual's words; the site's own words where a label is not given."""

    start: Label | None = Field(default=None, description="The section list's button (立即申请, 缴纳保证金).")
    next: Label | None = Field(default=None, description="Step 1's button (下一步).")
    back: Label | None = Field(default=None, description="The confirm page's way back (返回修改, 上一步).")
    submit: Label | None = Field(default=None, description="The confirm page's button (提交申请, 确认并支付).")
    total: Label | None = Field(
        default=None, description="The confirm page's line for the premium to pay (应付金额总计); 参考保费 otherwise."
    )


class Forms(Strict):
    application: list[FormField] = Field(min_length=1)
    application_groups: list[FormGroup] = Field(
        default_factory=list,
        description="The application form's groups in order; when given, every application field names one.",
    )
    application_buttons: ApplicationButtons = ApplicationButtons()
    enterprise: list[FormField] = Field(default_factory=list)
    voucher: list[FormField] = Field(default_factory=list)
    refund_account: list[FormField] = Field(default_factory=list)
    notices: list[Label] = Field(
        default_factory=list,
        description="温馨提醒 shown with the form; one also listed in a group's notices is shown in that group only.",
    )


class Enterprise(Strict):
    source: EnterpriseSource
    manual_review: bool = False
    review_hint: Label | None = None


class DepositOffer(Strict):
    kind: DepositKind
    label: Label


class IssuerKindOffer(Strict):
    kind: IssuerKind
    label: Label = Field(description="What the product is called, e.g. 保证保险, 保险保函.")


class Products(Strict):
    deposit_kinds: list[DepositOffer] = Field(min_length=1)
    issuer_kinds: list[IssuerKindOffer] = Field(min_length=1)


class IssuerDocument(Strict):
    code: Code
    title: Label


class StatementColumns(Strict):
    """Which column of a bank statement holds what, by the header text printed in the file."""

    booked_at: Label = Field(description="交易日期 or 交易时间: a date, or a date and time.")
    booked_time: Label | None = Field(default=None, description="A separate time column, when the bank has one.")
    credit: Label = Field(description="The incoming amount: 贷方发生额, 收入金额.")
    debit: Label | None = Field(default=None, description="The outgoing amount: rows with one are skipped.")
    payer_name: Label = Field(description="对方户名")
    payer_account: Label = Field(description="对方账号")
    payer_bank: Label | None = Field(default=None, description="对方开户行")
    remark: list[Label] = Field(
        min_length=1, description="Every column a remark code may be written in: 摘要, 用途, 附言, 备注."
    )
    reference: Label | None = Field(default=None, description="The bank's serial number for the line (交易流水号).")


class StatementLayout(Strict):
    """How one bank's statement export looks: CSV or Excel, where the header row is, which column is what."""

    code: Code
    label: Label
    format: Literal["csv", "xlsx"]
    encoding: Literal["utf-8", "utf-8-sig", "gbk", "gb18030"] = Field(
        default="utf-8-sig", description="CSV only: the text encoding of the export."
    )
    columns: StatementColumns
    datetime_formats: list[Annotated[str, StringConstraints(min_length=2, max_length=40)]] = Field(
        default_factory=lambda: ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d %H:%M:%S", "%Y%m%d"],
        min_length=1,
        description="strptime formats tried in order for the booking date (and time).",
    )


class ReceivingAccount(Strict):
    """Where bidders transfer the premium (收款账号)."""

    account_name: Label = Field(description="银行开户名")
    bank_name: Label = Field(description="开户银行")
    branch: Label | None = Field(default=None, description="支行")
    account_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{6,32}$")] = Field(description="银行账号")
    statement_layout: Code = Field(
        default="bank_csv",
        description="The layout of this account's statement exports: an engine preset (bank_csv, bank_xlsx) "
        "or one of payment.statement_layouts.",
    )


class Issuer(Strict):
    code: Code
    name: Label
    short_name: Label
    kind: IssuerKind
    rate: Annotated[Decimal, Field(gt=0, lt=1, max_digits=8, decimal_places=6)]
    minimum_premium: Money
    deposit_kinds: list[DepositKind] = Field(min_length=1)
    documents: list[IssuerDocument] = Field(default_factory=list)
    receiving_account: ReceivingAccount | None = Field(
        default=None, description="Needed when the pack takes offline transfers or vouchers."
    )
    sample: bool = Field(default=False, description="Placeholder data, not a real panel member.")
    logo: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}$")] | None = Field(
        default=None, description="Path inside the theme's static folder (issuers/zijin.svg); else no picture."
    )

    @field_validator("logo")
    @classmethod
    def _inside_theme(cls, value: str | None) -> str | None:
        if value is not None and ".." in value.split("/"):
            raise ValueError("a logo path stays inside the theme's static folder (no '..')")
        return value


class IssuerChoice(Strict):
    mode: IssuerChoiceMode
    platform_label: Label | None = Field(
        default=None, description="What the bidder picks when the issuer is allocated at random."
    )
    max_selected: Annotated[int, Field(ge=1)] | None = None
    consents: list[Consent] = Field(default_factory=list)


class AutoApprove(Strict):
    """Orders matching every stated condition are approved without the issuer (系统自动审核)."""

    max_insured_amount: Money | None = None
    project_types: list[Code] | None = Field(default=None, min_length=1)
    deposit_kinds: list[DepositKind] | None = Field(default=None, min_length=1)


class Underwriting(Strict):
    auto_approve: AutoApprove | None = None


class ProjectType(Strict):
    code: Code
    label: Label


class Sections(Strict):
    project_types: list[ProjectType] = Field(min_length=1)
    locations: list[Label] = Field(default_factory=list)
    bid_validity_days: list[Annotated[int, Field(ge=1, le=3650)]] = Field(default_factory=list)


class PayerRule(Strict):
    project_types: list[Code] = Field(min_length=1)
    payer: PayerAccount


class WarningGroup(StrEnum):
    NOTICE = "notice"  # 支付须知: how to pay
    TIP = "tip"  # 温馨提示: advice and what happens otherwise


class EngineWarning(StrEnum):
    """Warnings the payment page writes itself from the pack's other settings."""

    PAYER_RULE = "payer_rule"  # which account must pay (from payer_default / payer_rules)
    REMARK = "remark"  # the 订单附言 in every remark field (remark_required)
    DUPLICATE_PAYMENT = "duplicate_payment"  # 请勿重复支付
    PAY_BEFORE = "pay_before"  # pay ahead of the deadline (pay_before_deadline_hours; the 建议付款时间 row)
    NOT_ISSUED_CONTACT = "not_issued_contact"  # whom to call if not issued (contact_if_not_issued_after_hours)


class PaymentWarning(Strict):
    """A payment warning with the conditions under which it applies (a plain string applies always)."""

    text: Label
    group: WarningGroup = WarningGroup.NOTICE
    project_types: list[Code] | None = Field(
        default=None, min_length=1, description="Only for orders of these project types (sections.project_types)."
    )
    methods: list[PaymentMethod] | None = Field(
        default=None, min_length=1, description="Only where the order can be paid by one of these methods."
    )
    covers: list[EngineWarning] = Field(
        default_factory=list, description="The page's own warnings this text already says: they are not repeated."
    )


class Payment(Strict):
    methods: list[PaymentMethod] = Field(min_length=1)
    online_channels: list[OnlineChannel] = Field(default_factory=list)
    payer_default: PayerAccount
    payer_rules: list[PayerRule] = Field(default_factory=list)
    remark_required: bool = True
    pay_before_deadline_hours: Annotated[int, Field(ge=0, le=720)] = 0
    contact_if_not_issued_after_hours: Annotated[int, Field(ge=0, le=720)] | None = None
    auto_refund_service_fee: Money = Field(
        default=Decimal("0.00"), description="Kept from a refused payment (wrong account, amount or time) on refund."
    )
    auto_refund_working_days: Annotated[int, Field(ge=0, le=60)] | None = None
    reminders_before_deadline_hours: list[Annotated[int, Field(ge=1, le=720)]] = Field(
        default_factory=lambda: [24, 2],
        description="Unpaid orders are reminded by SMS this many hours before the deposit deadline.",
    )
    statement_layouts: list[StatementLayout] = Field(
        default_factory=list, description="Statement layouts of this centre's banks beyond the engine's presets."
    )
    warnings: list[Label | PaymentWarning] = Field(
        default_factory=list,
        description="What the payment page says: a plain string (支付须知, always), or {text, group, project_types, "
        "methods, covers} to say it only where it applies.",
    )

    def warnings_for(self, *, project_type: str, methods: Iterable[PaymentMethod]) -> list[PaymentWarning]:
        """The warnings that apply to an order of ``project_type`` payable by ``methods``, each text once."""
        offered = set(methods)
        out: list[PaymentWarning] = []
        seen: set[str] = set()
        for item in self.warnings:
            warning = PaymentWarning(text=item) if isinstance(item, str) else item
            if warning.project_types is not None and project_type not in warning.project_types:
                continue
            if warning.methods is not None and not offered.intersection(warning.methods):
                continue
            key = "".join(ch for ch in warning.text if ch.isalnum())
            if key in seen:
                continue
            seen.add(key)
            out.append(warning)
        return out


class Policy(Strict):
    before_opening: PolicyBeforeOpening


class RefundWhen(Strict):
    bid_opened: bool | None = None
    trigger: RefundTrigger | None = None
    section_status: list[SectionStatus] | None = Field(default=None, min_length=1)


class RefundRule(Strict):
    code: Code
    text: Label = Field(description="The rule as the manual states it.")
    when: RefundWhen
    decision: Decision = Decision.ALLOW


class Refund(Strict):
    enabled: bool = True
    default: Decision = Decision.DENY
    default_text: Label | None = None
    account_confirmation: bool = False
    reviewer: Literal["issuer", "centre"] = "issuer"


class InvoiceKind(Strict):
    form: InvoiceForm
    types: list[InvoiceType] = Field(min_length=1)
    processing_working_days: Annotated[int, Field(ge=0, le=60)] | None = None


class Invoice(Strict):
    enabled: bool = True
    opens_when: list[InvoiceCondition] = Field(min_length=1)
    kinds: list[InvoiceKind] = Field(min_length=1)
    saved_titles: bool = False
    saved_addresses: bool = False


class ProgressStep(Strict):
    label: Label
    reached_at: Milestone


class Progress(Strict):
    order: list[ProgressStep] = Field(min_length=1)
    refund: list[ProgressStep] = Field(default_factory=list)
    status_labels: dict[OrderState, Label] = Field(
        default_factory=dict, description="The region's words for order states; the engine's are used otherwise."
    )


class Claims(Strict):
    """Claims (索赔) against a guarantee, filed after bid opening by the tenderee or the trading
    centre and decided by the issuer. Beyond the manuals: the peers' interfaces have it."""

    enabled: bool = True
    decide_within_days: int = Field(default=5, ge=1, le=60, description="Days the issuer has to accept or reject.")
    pay_within_days: int = Field(default=10, ge=1, le=90, description="Days from acceptance to payment.")
    evidence_max_mb: int = Field(default=10, ge=1, le=50, description="Largest supporting file.")
    evidence_max_files: int = Field(default=5, ge=1, le=20)


class Abandon(Strict):
    enabled: bool = False
    operator_check: bool = True


class AfterSalesCategory(Strict):
    code: Code
    label: Label
    kind: AfterSalesKind = AfterSalesKind.OTHER


class RulePack(Strict):
    """A trading centre's rule pack (``regions/<code>.yaml``)."""

    version: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,39}$")] = Field(
        description="The author's version label, e.g. 2026.11-1."
    )
    centre: Centre
    login: Login
    enterprise: Enterprise
    products: Products
    issuers: list[Issuer] = Field(min_length=1)
    issuer_choice: IssuerChoice
    underwriting: Underwriting = Underwriting()
    sections: Sections
    forms: Forms
    payment: Payment
    policy: Policy
    refund: Refund
    refund_rules: list[RefundRule] = Field(default_factory=list)
    invoice: Invoice
    progress: Progress
    abandon: Abandon = Abandon()
    claims: Claims = Claims()
    after_sales: list[AfterSalesCategory] = Field(default_factory=list)

    @property
    def theme(self) -> str:
        return self.centre.theme or self.centre.code
