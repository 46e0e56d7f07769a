"""Statement layouts the engine knows without a pack naming their columns.

``bank_csv`` is the common CSV export of Chinese corporate online banking (GBK text, a few
lines of account details above the table, 借方/贷方 columns); ``bank_xlsx`` the common Excel
export (one date-time column, 收入金额/支出金额). A pack adds others under
``payment.statement_layouts`` and names one per receiving account.
"""

from __future__ import annotations

from baohan.rulepacks.models import StatementColumns, StatementLayout

PRESETS: dict[str, StatementLayout] = {
    layout.code: layout
    for layout in [
        StatementLayout(
            code="bank_csv",
            label="网银明细 CSV（借方/贷方）",
            format="csv",
            encoding="gb18030",
            columns=StatementColumns(
                booked_at="交易日期",
                booked_time="交易时间",
                credit="贷方发生额",
                debit="借方发生额",
                payer_name="对方户名",
                payer_account="对方账号",
                payer_bank="对方开户行",
                remark=["摘要", "用途", "附言"],
                reference="交易流水号",
            ),
        ),
        StatementLayout(
            code="bank_xlsx",
            label="网银明细 Excel（收入/支出）",
            format="xlsx",
            columns=StatementColumns(
                booked_at="交易时间",
                credit="收入金额",
                debit="支出金额",
                payer_name="对方户名",
                payer_account="对方账号",
                payer_bank="对方行名",
                remark=["摘要", "备注"],
                reference="流水号",
            ),
        ),
    ]
}


def layouts_of(pack_layouts: list[StatementLayout]) -> dict[str, StatementLayout]:
    """The presets, with the pack's own layouts added (a pack's layout of the same code wins)."""
    return {**PRESETS, **{layout.code: layout for layout in pack_layouts}}
