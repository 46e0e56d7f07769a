"""Bank statement exports: CSV and Excel read into incoming lines, all or nothing, and written back out."""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from operator import attrgetter
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]

from baohan.payments.statements import StatementError, StatementLine, statement_parse, statement_render
from baohan.rulepacks.models import StatementColumns, StatementLayout
from baohan.rulepacks.statement_presets import PRESETS

SHANGHAI = ZoneInfo("Asia/Shanghai")
BANK_CSV = PRESETS["bank_csv"]
BANK_XLSX = PRESETS["bank_xlsx"]
CUSTOM = StatementLayout(
    code="plain_utf8",
    label="测试银行 UTF-8",
    format="csv",
    encoding="utf-8",
    columns=StatementColumns(
        booked_at="记账日期", credit="收款金额", payer_name="付款人", payer_account="付款账号", remark=["附言"]
    ),
    datetime_formats=["%Y/%m/%d %H:%M", "%Y/%m/%d"],
)

# Rows: 1-3 preamble, 4 blank, 5 header, 6 incoming, 7 outgoing, 8 blank, 9 incoming, 10 合计.
GBK_CSV = """账号,1234567890123
户名,某某财产保险股份有限公司
查询区间,2026-11-01 至 2026-11-30

交易流水号,交易日期,交易时间,借方发生额,贷方发生额,余额,对方账号,对方户名,对方开户行,摘要,用途,附言
T001,2026-11-02,09:30:00,,"￥1,000.00","21,000.00",6222 0202-0011 2233,某某建设有限公司,工商银行,BH7K2M9Q,投标保证金,
T002,2026-11-02,10:00:00,500.00,,"20,500.00",6217000011112222,某某物业公司,建设银行,转账支出,,

T003,20261103,101530,,  2500.5 ,"23,000.50",="6217000000001234",某某市政工程公司,农业银行,,BH4X8P2R,保证金
,合计,,500.00,"3,500.50",,,,,,,
"""


def _line(n: int, booked_at: datetime, amount: str, remark: str) -> StatementLine:
    return StatementLine(
        row=0,
        reference=f"SN2026{n:06d}",
        booked_at=booked_at,
        amount=Decimal(amount),
        payer_name=f"某某建设工程有限公司{n}",
        payer_account=f"62220202001{n:05d}",
        payer_bank="中国工商银行股份有限公司乌鲁木齐分行",
        remark=remark,
        raw={},
    )


LINES = [
    _line(1, datetime(2026, 11, 2, 9, 30, 5, tzinfo=SHANGHAI), "1000.50", "BH7K2M9Q"),
    _line(2, datetime(2026, 11, 2, 23, 59, 59, tzinfo=SHANGHAI), "12345678.90", "BH4X8P2R | 投标保证金"),
    _line(3, datetime(2026, 11, 3, 1, 0, 0, tzinfo=UTC), "0.01", ""),  # 09:00 in Shanghai
]


_fields = attrgetter("reference", "booked_at", "amount", "payer_name", "payer_account", "payer_bank", "remark")


def _xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _error(content: bytes, layout: StatementLayout = BANK_CSV, **kwargs: int) -> StatementError:
    with pytest.raises(StatementError) as caught:
        statement_parse(content=content, layout=layout, **kwargs)
    return caught.value


@pytest.mark.parametrize("layout", [BANK_CSV, BANK_XLSX, CUSTOM, CUSTOM.model_copy(update={"format": "xlsx"})])
def test_what_is_rendered_parses_back_to_the_same_lines(layout: StatementLayout) -> None:
    lines = LINES
    if layout.columns.reference is None:  # and no payer bank; its only date format has no seconds
        lines = [
            replace(line, reference="", payer_bank="", booked_at=line.booked_at.replace(second=0)) for line in lines
        ]
    content = statement_render(layout=layout, lines=lines, account_number="1234567890123", account_name="某保险公司")

    parsed = statement_parse(content=content, layout=layout)

    assert [_fields(line) for line in parsed] == [_fields(line) for line in lines]
    assert all(line.booked_at.tzinfo == SHANGHAI for line in parsed)
    assert [line.row for line in parsed] == list(range(parsed[0].row, parsed[0].row + len(lines)))
    if layout.format == "csv":
        text = content.decode(layout.encoding)
        assert text.startswith("账号,1234567890123\r\n户名,某保险公司\r\n")
        assert "余额" in text
        assert "合计" in text


def test_a_bank_csv_export_yields_its_incoming_lines_only() -> None:
    lines = statement_parse(content=GBK_CSV.encode("gbk"), layout=BANK_CSV)

    assert [line.row for line in lines] == [6, 9]
    assert [line.reference for line in lines] == ["T001", "T003"]
    assert [line.amount for line in lines] == [Decimal("1000.00"), Decimal("2500.50")]
    assert [str(line.amount) for line in lines] == ["1000.00", "2500.50"]  # two places, not just equal
    assert lines[0].booked_at == datetime(2026, 11, 2, 9, 30, tzinfo=SHANGHAI)
    assert lines[1].booked_at == datetime(2026, 11, 3, 10, 15, 30, tzinfo=SHANGHAI)
    assert lines[0].booked_at.isoformat() == "2026-11-02T09:30:00+08:00"
    assert [line.payer_account for line in lines] == ["6222020200112233", "6217000000001234"]
    assert [line.payer_name for line in lines] == ["某某建设有限公司", "某某市政工程公司"]
    assert lines[0].payer_bank == "工商银行"
    assert [line.remark for line in lines] == ["BH7K2M9Q | 投标保证金", "BH4X8P2R | 保证金"]
    assert lines[0].raw["贷方发生额"] == "￥1,000.00"
    assert lines[0].raw["余额"] == "21,000.00"


def test_an_excel_export_with_typed_cells_and_text_dates() -> None:
    at = datetime(2026, 11, 20, 10, 15, 30)
    header = ["流水号", "交易时间", "支出金额", "收入金额", "对方账号", "对方户名", "对方行名", "摘要", "备注"]
    content = _xlsx(
        [
            ["某保险公司 账户交易明细"],
            ["账号", "1234567890123", "户名", "某保险公司"],
            [],
            header,
            ["X1", at, None, 1000.5, 62220202001122, " 某甲公司 ", "建设银行", "BH1", "定金"],
            ["X2", "20261120 10:15:30", 200, None, "6222", "某乙公司", "建设银行", "付款", None],
            ["X3", "20261120 10:15:30", 0, "¥2,000", "6222-0202-0011-33", "某丙公司", None, None, "BH3"],
            [None, "合计", 200, 3000.5],
        ]
    )

    lines = statement_parse(content=content, layout=BANK_XLSX)

    assert [(line.row, line.reference, str(line.amount)) for line in lines] == [
        (5, "X1", "1000.50"),
        (7, "X3", "2000.00"),
    ]
    assert [line.booked_at for line in lines] == [at.replace(tzinfo=SHANGHAI)] * 2
    assert [line.payer_account for line in lines] == ["62220202001122", "62220202001133"]
    assert [line.payer_name for line in lines] == ["某甲公司", "某丙公司"]
    assert [line.remark for line in lines] == ["BH1 | 定金", "BH3"]
    assert lines[1].payer_bank == ""


def test_a_pack_layout_without_reference_or_time_columns() -> None:
    content = "记账日期,付款人,付款账号,收款金额,附言\n2026/11/20 08:05,张三,6222-0000-1111,88.8,BH1\n"
    content += "2026/11/21,李四,,1,\n2026/11/22 17:45,王五,6222 0000 3333,0.10,BH3\n"

    lines = statement_parse(content=content.encode("utf-8"), layout=CUSTOM)

    assert [line.booked_at for line in lines] == [
        datetime(2026, 11, 20, 8, 5, tzinfo=SHANGHAI),
        datetime(2026, 11, 21, tzinfo=SHANGHAI),
        datetime(2026, 11, 22, 17, 45, tzinfo=SHANGHAI),
    ]
    assert [str(line.amount) for line in lines] == ["88.80", "1.00", "0.10"]
    assert [line.payer_account for line in lines] == ["622200001111", "", "622200003333"]
    assert {line.reference for line in lines} == {""}
    assert {line.payer_bank for line in lines} == {""}
    assert [line.row for line in lines] == [2, 3, 4]


def test_missing_columns_are_named() -> None:
    content = GBK_CSV.replace("贷方发生额", "贷方金额").replace("对方账号", "对方帐号").encode("gbk")

    error = _error(content)

    assert str(error) == "找不到列：贷方发生额、对方账号"
    assert error.row is None


def test_a_header_below_the_first_30_rows_is_not_found() -> None:
    error = _error(("说明\n" * 30 + GBK_CSV).encode("gbk"))

    assert error.message.startswith("找不到列：交易日期、交易时间")


@pytest.mark.parametrize(
    ("old", "new", "row", "column", "problem"),
    [
        ('"￥1,000.00"', "abc", 6, "贷方发生额", "第6行「贷方发生额」：金额格式不正确（abc）"),
        ("  2500.5 ", "10.005", 9, "贷方发生额", "第9行「贷方发生额」：金额最多两位小数（10.005）"),
        ('"￥1,000.00"', "-5.00", 6, "贷方发生额", "第6行「贷方发生额」：收入金额不能为负数（-5.00）"),
        ("T003,20261103", "T003,2026-13-45", 9, "交易日期", "第9行「交易日期」：日期格式不正确（2026-13-45）"),
        ("T001,2026-11-02", "T001,", 6, "交易日期", "第6行「交易日期」：日期为空"),
        ("101530", "25:61", 9, "交易时间", "第9行「交易时间」：时间格式不正确（25:61）"),
    ],
)
def test_a_row_that_cannot_be_read_refuses_the_whole_file(
    old: str, new: str, row: int, column: str, problem: str
) -> None:
    error = _error(GBK_CSV.replace(old, new).encode("gbk"))

    assert (error.row, error.column) == (row, column)
    assert str(error).startswith(problem)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.message, copy.row, copy.column) == (error.message, row, column)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb"


def _zip_of_text() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "不是表格")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "layout", "problem"),
    [
        (GBK_CSV.encode("gbk"), BANK_XLSX, "文件不是有效的 Excel（.xlsx）文件"),
        (JPEG, BANK_XLSX, "文件不是有效的 Excel（.xlsx）文件"),
        (_zip_of_text(), BANK_XLSX, "文件不是有效的 Excel（.xlsx）文件"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), BANK_XLSX, ".xls"),
        (PNG, BANK_CSV, "图片"),
        (b"a,b\n\x00\x01\x02,c\n", BANK_CSV, "二进制"),
        (_xlsx([["交易日期"]]), BANK_CSV, "Excel"),
        (b"", BANK_CSV, "文件是空的"),
        (b" \r\n", BANK_XLSX, "文件是空的"),
        ("\ufeff\r\n\r\n".encode(), CUSTOM, "没有内容"),
        (GBK_CSV.encode("gbk"), CUSTOM, "第1行：文件编码不是 UTF-8"),
    ],
)
def test_a_file_that_is_not_a_statement_of_the_layout(content: bytes, layout: StatementLayout, problem: str) -> None:
    assert problem in str(_error(content, layout))


def test_utf8_text_given_to_a_gbk_layout_is_refused() -> None:
    _error(GBK_CSV.encode("utf-8"), BANK_CSV.model_copy(update={"encoding": "gbk"}))


def test_more_rows_than_allowed_are_refused() -> None:
    lines = [_line(n, LINES[0].booked_at, "1", "") for n in range(5)]
    content = statement_render(layout=BANK_CSV, lines=lines, account_number="1234567890123", account_name="某保险公司")

    assert len(statement_parse(content=content, layout=BANK_CSV, max_rows=5)) == 5
    assert "文件行数超过上限" in str(_error(content, max_rows=4))
