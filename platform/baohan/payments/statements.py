"""Bank statement exports (CSV and Excel .xlsx) read into typed lines, and written back out.

A layout (``baohan.rulepacks.models.StatementLayout``) names the header text of every column
the engine needs. ``statement_parse`` finds the header row below the bank's preamble (账号,
户名, 查询区间 …), keeps the incoming lines and skips blank rows, outgoing rows and summary
rows (合计). Anything else it cannot read is an error naming the row and the column, and the
whole file is refused: the caller stores all of a file or none of it.

``statement_render`` writes a realistic export in a layout, for tests, benchmarks and demo data;
parsing what it renders gives back the same lines.
"""

from __future__ import annotations

import csv
import gc
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from baohan.rulepacks.models import StatementLayout

__all__ = ["StatementError", "StatementLine", "statement_parse", "statement_render"]

HEADER_SEARCH_ROWS = 30
SUMMARY_WORDS = ("合计", "总计", "小计")
BALANCE_HEADER = "余额"
SUMMARY_LABEL = "合计"

_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal("1000000000000")  # the ledger keeps 14 digits, 2 of them decimals
# After thousands separators are removed: an optional sign, an optional currency sign, digits.
# Digits are ASCII only, as everywhere (baohan/guarantees/numbers.py): 「１０００」 is refused, not read as 1000.
_AMOUNT_RE = re.compile(r"([+-]?)\s*[¥￥]?\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*元?")
_PLAIN_AMOUNT_RE = re.compile(r"(-?)([0-9]{1,12})(?:\.([0-9]{1,2})0*)?")
_EMPTY_AMOUNTS = frozenset({"", "-", "--", "—", "——", "/"})
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%p", "%X", "%T", "%c", "%R", "%f")
_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gbk": "GBK", "gb18030": "GBK"}
# What strptime matches for each directive; formats using only these are parsed without it.
_DIRECTIVES = {
    "Y": r"(?P<Y>\d\d\d\d)",
    "m": r"(?P<m>1[0-2]|0[1-9]|[1-9])",
    "d": r"(?P<d>3[01]|[12]\d|0[1-9]|[1-9]| [1-9])",
    "H": r"(?P<H>2[0-3]|[01]\d|\d)",
    "M": r"(?P<M>[0-5]\d|\d)",
    "S": r"(?P<S>6[01]|[0-5]\d|\d)",
    "%": "%",
}
_EXAMPLE_MOMENT = datetime(2026, 1, 31, 9, 5, 0)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One incoming line of a statement file."""

    row: int  # 1-based row number in the file
    reference: str  # the bank's serial number (交易流水号), "" when the layout or the cell has none
    booked_at: datetime  # timezone-aware
    amount: Decimal  # incoming, > 0, two decimals
    payer_name: str
    payer_account: str  # spaces and dashes removed
    payer_bank: str
    remark: str  # the remark columns' non-empty values joined with " | "
    raw: dict[str, str]  # header -> cell text, for audit


class StatementError(ValueError):
    """A file that cannot be read as this layout; names the row (1-based) and the column when known."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        self.message = message
        self.row = row
        self.column = column
        where = (f"第{row}行" if row is not None else "") + (f"「{column}」" if column else "")
        super().__init__(f"{where}：{message}" if where else message)

    def __reduce__(self) -> tuple[Callable[..., StatementError], tuple[str, int | None, str | None]]:
        return _statement_error, (self.message, self.row, self.column)


def _statement_error(message: str, row: int | None, column: str | None) -> StatementError:
    return StatementError(message, row=row, column=column)


# --- parsing -----------------------------------------------------------------------------


def statement_parse(*, content: bytes, layout: StatementLayout, max_rows: int = 200_000) -> list[StatementLine]:
    """Every incoming line of the file, in file order; raises StatementError if any row cannot be read."""
    if not content or content.isspace():
        raise StatementError("文件是空的")
    rows = _csv_rows(content, layout) if layout.format == "csv" else _xlsx_rows(content, layout)
    with _cycle_collection_paused():
        return _Reader(layout, max_rows).read(rows)


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Lines hold no reference cycles, but building 100,000 of them runs the cycle collector over the
    whole heap again and again (a fifth of the parse time): it waits until they are built."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sniff(content: bytes) -> str | None:
    if content.startswith(b"PK\x03\x04"):
        return "zip"
    if content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    if content.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF")):
        return "image"
    return None


def _csv_rows(content: bytes, layout: StatementLayout) -> Iterator[Sequence[object]]:
    kind = _sniff(content)
    if kind in ("zip", "xls"):
        raise StatementError(f"文件是 Excel 文件，但此账户的流水格式是 CSV（{layout.label}）")
    if kind == "image":
        raise StatementError("文件是图片或 PDF，不是银行流水的 CSV 文件")
    if b"\x00" in content:
        raise StatementError("文件含有二进制内容，不是 CSV 文本文件")
    try:
        text = content.decode(layout.encoding)
    except UnicodeDecodeError as exc:
        name = _ENCODING_NAMES[layout.encoding]
        row = content.count(b"\n", 0, exc.start) + 1
        raise StatementError(f"文件编码不是 {name}，请用 {name} 编码导出", row=row) from exc
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    return _checked_csv(reader)


def _checked_csv(reader: Iterator[list[str]]) -> Iterator[Sequence[object]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise StatementError(f"CSV 格式不正确（{exc}）", row=getattr(reader, "line_num", None)) from exc


def _xlsx_rows(content: bytes, layout: StatementLayout) -> Iterator[Sequence[object]]:
    kind = _sniff(content)
    if kind == "xls":
        raise StatementError("文件是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后上传")
    if kind != "zip":
        raise StatementError(f"文件不是有效的 Excel（.xlsx）文件，此账户的流水格式是 {layout.label}")
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # a damaged or foreign zip fails in many ways inside openpyxl
        raise StatementError("文件不是有效的 Excel（.xlsx）文件") from exc
    if not workbook.worksheets:
        workbook.close()
        raise StatementError("Excel 文件中没有工作表")
    return _checked_sheet(workbook)


def _checked_sheet(workbook: Workbook) -> Iterator[Sequence[object]]:
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # read-only sheets: trust the cells, not the stated size
    try:
        yield from sheet.iter_rows(values_only=True)
    except Exception as exc:  # damaged sheet XML surfaces as any exception
        raise StatementError("文件不是有效的 Excel（.xlsx）文件：工作表内容无法读取") from exc
    finally:
        workbook.close()


def _text(value: object) -> str:
    """A cell as the text a person sees."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _unwrap(text: str) -> str:
    """``="0123"`` is how exports keep Excel from reading a number: the text inside."""
    if text.startswith('="') and text.endswith('"'):
        return text[2:-1].strip()
    return text


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def _round_second(value: datetime) -> datetime:
    """Excel keeps times as fractions of a day: 10:15:30 may come back as 10:15:29.999999."""
    if not value.microsecond:
        return value
    return value.replace(microsecond=0) + timedelta(seconds=round(value.microsecond / 1_000_000))


def _compile_format(fmt: str) -> Callable[[str], datetime | None]:
    """A parser equivalent to strptime for the common directives, without its per-call cost."""
    pattern: list[str] = []
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%":
            directive = fmt[i + 1 : i + 2]
            if directive not in _DIRECTIVES or (directive != "%" and f"(?P<{directive}>" in "".join(pattern)):
                return _strptime_parser(fmt)
            pattern.append(_DIRECTIVES[directive])
            i += 2
        elif char.isspace():
            pattern.append(r"\s+")
            while i < len(fmt) and fmt[i].isspace():
                i += 1
        else:
            pattern.append(re.escape(char))
            i += 1
    regex = re.compile("".join(pattern), re.IGNORECASE)

    def parse(text: str) -> datetime | None:
        match = regex.fullmatch(text)
        if match is None:
            return None
        parts = match.groupdict()
        try:
            return datetime(  # made aware by the caller
                int(parts.get("Y") or 1900),
                int(parts.get("m") or 1),
                int(parts.get("d") or 1),
                int(parts.get("H") or 0),
                int(parts.get("M") or 0),
                int(parts.get("S") or 0),
            )
        except ValueError:
            return None

    return parse


def _strptime_parser(fmt: str) -> Callable[[str], datetime | None]:
    def parse(text: str) -> datetime | None:
        try:
            return datetime.strptime(text, fmt)  # made aware by the caller
        except ValueError:
            return None

    return parse


class _Dates:
    """The layout's formats, tried in order, the one that matched last time first; results are aware."""

    def __init__(self, formats: list[str], zone: tzinfo) -> None:
        self._parsers = [_compile_format(fmt) for fmt in formats]
        self._last = 0
        self._zone = zone
        self._seen: dict[str, datetime | None] = {}  # statements repeat their dates
        self.examples = "、".join(dict.fromkeys(_EXAMPLE_MOMENT.strftime(fmt) for fmt in formats[:3]))

    def _aware(self, value: datetime) -> datetime:
        return value.replace(tzinfo=self._zone) if value.tzinfo is None else value.astimezone(self._zone)

    def parse(self, value: object) -> datetime | None:
        if type(value) is str and value in self._seen:  # the common case: a date seen before
            return self._seen[value]
        if isinstance(value, datetime):
            return self._aware(_round_second(value))
        if isinstance(value, date):
            return datetime.combine(value, time(), self._zone)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            return None
        text = value.strip()
        if text != value and text in self._seen:
            self._seen[value] = self._seen[text]
            return self._seen[text]
        found = self._find(text) if text else None
        self._seen[text] = self._seen[value] = found = self._aware(found) if found is not None else None
        return found

    def _find(self, text: str) -> datetime | None:
        parsers = self._parsers
        found = parsers[self._last](text)
        if found is not None:
            return found
        for index, parser in enumerate(parsers):
            if index != self._last:
                found = parser(text)
                if found is not None:
                    self._last = index
                    return found
        return None


def _time_of(value: object) -> time | None:
    """A separate time cell: 10:15:30, 101530, a time or datetime cell; None when empty; ValueError if unreadable."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _round_second(value).time()
    if isinstance(value, time):
        return _round_second(datetime.combine(date(2000, 1, 1), value)).time()
    text = _unwrap(value.strip() if type(value) is str else _text(value))
    if not text:
        return None
    if text.isdigit() and len(text) in (3, 5):
        text = "0" + text  # 91530: the leading zero lost to a number cell
    try:
        moment = time.fromisoformat(text)  # 10:15:30, 10:15, 101530, 1015
    except ValueError:
        parts = text.split(":")  # 9:05:00
        if not 2 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
            raise
        numbers = [int(part) for part in parts]
        moment = time(numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else 0)
    return moment.replace(microsecond=0, tzinfo=None) if moment.microsecond or moment.tzinfo else moment


def _amount(value: object, *, row: int, column: str) -> Decimal | None:
    """An amount cell as a Decimal with two places; None when the cell is empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise StatementError(f"金额格式不正确（{value}）", row=row, column=column)
    if isinstance(value, str):
        text = _unwrap(value.strip())
        if text in _EMPTY_AMOUNTS:
            return None
        plain = text.replace(",", "")
        common = _PLAIN_AMOUNT_RE.fullmatch(plain)
        if common is not None:  # 1234.5, -1,000.00: already two places once padded
            sign, whole, cents = common.groups()
            return Decimal(f"{sign}{whole}.{cents or ''}".ljust(len(sign) + len(whole) + 3, "0"))
        match = _AMOUNT_RE.fullmatch(plain.replace("，", ""))
        if match is None:
            raise StatementError(f"金额格式不正确（{_shown(text)}）", row=row, column=column)
        amount = Decimal(match[1] + match[2])
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float | Decimal):
        amount = Decimal(str(value))
        if not amount.is_finite():
            raise StatementError(f"金额格式不正确（{value}）", row=row, column=column)
    else:
        raise StatementError(f"金额格式不正确（{_shown(_text(value))}）", row=row, column=column)
    if abs(amount) >= _MAX_AMOUNT:
        raise StatementError(f"金额过大（{_shown(_text(value))}）", row=row, column=column)
    try:
        rounded = amount.quantize(_CENT)
    except InvalidOperation as exc:
        raise StatementError(f"金额格式不正确（{_shown(_text(value))}）", row=row, column=column) from exc
    if rounded != amount:
        raise StatementError(f"金额最多两位小数（{_shown(_text(value))}）", row=row, column=column)
    return rounded


def _picker(positions: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """The cells at these positions, as a tuple (itemgetter returns a bare value for one position)."""
    if len(positions) == 1:
        only = positions[0]
        return lambda texts: (texts[only],)
    return itemgetter(*positions)


class _Reader:
    def __init__(self, layout: StatementLayout, max_rows: int) -> None:
        self.layout = layout
        self.max_rows = max_rows
        columns = layout.columns
        names = [
            columns.booked_at,
            columns.booked_time,
            columns.debit,
            columns.credit,
            columns.payer_name,
            columns.payer_account,
            columns.payer_bank,
            *columns.remark,
            columns.reference,
        ]
        self.required = list(dict.fromkeys(name for name in names if name))
        self.dates = _Dates(layout.datetime_formats, ZoneInfo(settings.TIME_ZONE))

    def _header(self, rows: Iterator[tuple[int, Sequence[object]]]) -> list[str]:
        best: list[str] | None = None
        for seen, (_number, row) in enumerate(rows, start=1):
            texts = [_text(value).lstrip("\ufeff").strip() for value in row]
            if any(texts):
                cells = set(texts)
                missing = [name for name in self.required if name not in cells]
                if not missing:
                    return texts
                if best is None or len(missing) < len(best):
                    best = missing
            if seen >= HEADER_SEARCH_ROWS:
                break
        if best is None:
            raise StatementError("文件中没有内容")
        raise StatementError("找不到列：" + "、".join(best))

    def read(self, source: Iterator[Sequence[object]]) -> list[StatementLine]:
        rows = enumerate(source, start=1)
        header = self._header(rows)
        index: dict[str, int] = {}
        for position, name in enumerate(header):
            if name:
                index.setdefault(name, position)
        raw_names = list(index)
        raw_cells = _picker(list(index.values()))
        raw_in_order = list(index.values()) == list(range(len(index)))
        amounts: dict[str, Decimal | None] = {}
        columns = self.layout.columns
        at_booked = index[columns.booked_at]
        at_time = index[columns.booked_time] if columns.booked_time else None
        at_credit = index[columns.credit]
        at_name = index[columns.payer_name]
        at_account = index[columns.payer_account]
        at_bank = index[columns.payer_bank] if columns.payer_bank else None
        at_reference = index[columns.reference] if columns.reference else None
        remarks = _picker([index[name] for name in columns.remark])
        width = max(index.values()) + 1
        parse_date = self.dates.parse
        csv_rows = self.layout.format == "csv"
        padding: list[object] = ["" if csv_rows else None] * width
        credit_header, booked_header, max_rows = columns.credit, columns.booked_at, self.max_rows
        lines: list[StatementLine] = []
        count = 0
        for number, row in rows:
            if len(row) < width:
                row = [*row, *padding[len(row) :]]
            # CSV cells are text already; Excel cells are typed.
            texts = [cell.strip() for cell in cast("list[str]", row)] if csv_rows else [_text(cell) for cell in row]
            if not any(texts):
                continue
            if texts[at_credit] == credit_header and texts[at_booked] == booked_header:
                continue  # the header repeated, as some banks do on every page
            booked = parse_date(row[at_booked])
            if booked is None and any(word in text for text in texts for word in SUMMARY_WORDS):
                continue
            count += 1
            if count > max_rows:
                raise StatementError(f"文件行数超过上限（{self.max_rows} 行），请分段导出后上传")
            credit = row[at_credit]
            if type(credit) is str and credit in amounts:  # statements repeat their amounts
                amount = amounts[credit]
            else:
                amount = _amount(credit, row=number, column=credit_header)
                if type(credit) is str:
                    amounts[credit] = amount
            if amount is None or not amount:
                continue  # outgoing money, or nothing
            if amount < 0:
                raise StatementError(f"收入金额不能为负数（{texts[at_credit]}）", row=number, column=columns.credit)
            if booked is None:
                shown = _shown(texts[at_booked])
                problem = f"日期格式不正确（{shown}），应为 {self.dates.examples} 等格式" if shown else "日期为空"
                raise StatementError(problem, row=number, column=columns.booked_at)
            if at_time is not None:
                try:
                    moment = _time_of(row[at_time])
                except ValueError as exc:
                    shown = _shown(texts[at_time])
                    raise StatementError(f"时间格式不正确（{shown}）", row=number, column=columns.booked_time) from exc
                if moment is not None:
                    booked = datetime.combine(booked, moment, booked.tzinfo)
            lines.append(
                StatementLine(
                    row=number,
                    reference=_unwrap(texts[at_reference]) if at_reference is not None else "",
                    booked_at=booked,
                    amount=amount,
                    payer_name=texts[at_name],
                    payer_account=_unwrap(texts[at_account]).replace(" ", "").replace("-", ""),
                    payer_bank=texts[at_bank] if at_bank is not None else "",
                    remark=" | ".join(filter(None, remarks(texts))),
                    raw=dict(zip(raw_names, texts if raw_in_order else raw_cells(texts))),  # noqa: B905 - texts may be wider
                )
            )
        return lines


# --- rendering ---------------------------------------------------------------------------


def statement_render(
    *, layout: StatementLayout, lines: Iterable[StatementLine], account_number: str, account_name: str
) -> bytes:
    """A statement export in the layout, with the preamble, header and 合计 row a bank writes."""
    if layout.format == "csv":
        return _render_csv(layout, lines, account_number, account_name)
    return _render_xlsx(layout, lines, account_number, account_name)


def _header_of(layout: StatementLayout, *, balance: bool) -> list[str]:
    columns = layout.columns
    names = [
        columns.reference,
        columns.booked_at,
        columns.booked_time,
        columns.debit,
        columns.credit,
        BALANCE_HEADER if balance else None,
        columns.payer_account,
        columns.payer_name,
        columns.payer_bank,
        *columns.remark,
    ]
    return list(dict.fromkeys(name for name in names if name))


def _date_format(layout: StatementLayout) -> str:
    """The first format without a time of day, else the date part of the first format."""
    for fmt in layout.datetime_formats:
        if not any(directive in fmt for directive in _TIME_DIRECTIVES):
            return fmt
    return layout.datetime_formats[0].split()[0]


def _local(value: datetime, zone: tzinfo) -> datetime:
    return timezone.localtime(value, zone).replace(tzinfo=None) if timezone.is_aware(value) else value


def _cells(
    layout: StatementLayout, header: list[str], line: StatementLine, when: object, at: object, amount: object
) -> list[object]:
    columns = layout.columns
    values: dict[str | None, object] = {
        columns.reference: line.reference,
        columns.booked_at: when,
        columns.credit: amount,
        columns.payer_account: line.payer_account,
        columns.payer_name: line.payer_name,
        columns.payer_bank: line.payer_bank,
        columns.remark[0]: line.remark,
    }
    if columns.booked_time:
        values[columns.booked_time] = at
    return [values.get(name, "") for name in header]


def _render_csv(layout: StatementLayout, lines: Iterable[StatementLine], number: str, name: str) -> bytes:
    columns = layout.columns
    zone = ZoneInfo(settings.TIME_ZONE)
    header = _header_of(layout, balance=True)
    at_balance = header.index(BALANCE_HEADER)
    full_format = layout.datetime_formats[0]
    date_format = _date_format(layout) if columns.booked_time else full_format
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([["账号", number], ["户名", name], ["查询日期", timezone.localdate().isoformat()], [], header])
    balance = Decimal(0)
    for line in lines:
        local = _local(line.booked_at, zone)
        balance += line.amount
        row = _cells(layout, header, line, local.strftime(date_format), f"{local:%H:%M:%S}", f"{line.amount:,.2f}")
        row[at_balance] = f"{balance:,.2f}"
        writer.writerow(row)
    summary: list[object] = [""] * len(header)
    summary[header.index(columns.booked_at)] = SUMMARY_LABEL
    summary[header.index(columns.credit)] = f"{balance:,.2f}"
    if columns.debit:
        summary[header.index(columns.debit)] = "0.00"
    writer.writerow(summary)
    return out.getvalue().encode(layout.encoding)


def _render_xlsx(layout: StatementLayout, lines: Iterable[StatementLine], number: str, name: str) -> bytes:
    columns = layout.columns
    zone = ZoneInfo(settings.TIME_ZONE)
    header = _header_of(layout, balance=False)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("交易明细")
    sheet.append([f"{name} 账户交易明细"])
    sheet.append(["账号", number, "户名", name, "导出日期", timezone.localdate().isoformat()])
    sheet.append([])
    sheet.append(header)
    total = Decimal(0)
    for line in lines:
        local = _local(line.booked_at, zone)
        total += line.amount
        when: object = local.date() if columns.booked_time else local
        sheet.append(_cells(layout, header, line, when, local.time(), line.amount))
    summary: list[object] = [None] * len(header)
    summary[header.index(columns.booked_at)] = SUMMARY_LABEL
    summary[header.index(columns.credit)] = total
    sheet.append(summary)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
