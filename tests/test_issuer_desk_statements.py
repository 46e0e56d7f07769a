"""Statement import on the issuer workbench: a preview that names what each line will do and stores
nothing, errors naming the row and column, the import through the issuer API's service (the order paid
once), and the lines no order was found for assigned or dismissed as the person named."""

from __future__ import annotations

import io
from typing import Any

import pytest

from baohan.guarantees.models import Order, OrderEvent
from baohan.payments.models import StatementImport, StatementLine
from tests.money import in_centre, line, statement_csv, xinjiang_waiting
from tests.test_issuer_desk import desk_client, field_error, flash, text

pytestmark = pytest.mark.django_db

PERSON = "马核保（国任财产保险股份有限公司）"


def _file(content: bytes, name: str = "0601.csv") -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


def _lines() -> int:
    return int(in_centre("xinjiang", lambda: StatementLine.objects.count() + StatementImport.objects.count()))


def test_a_statement_is_previewed_then_applied_and_its_stray_lines_handled(
    django_capture_on_commit_callbacks: Any,
) -> None:
    paying, other = xinjiang_waiting(), xinjiang_waiting()
    good = line(paying, remark=f"投标保费 附言{paying.remark_code}")
    short = line(other, amount="1.00", remark=f"保费 {other.remark_code}")
    stray = line(paying, amount="5.00", remark="其他来款", payer_name="某某", payer_account="6200000000001111")
    stray2 = line(paying, amount="6.00", remark="退回款", payer_name="某某", payer_account="6200000000002222")
    content = statement_csv([good, short, stray, stray2])
    desk = desk_client("xinjiang", "guoren", name="马核保")
    before = _lines()

    # A file that cannot be read: the row and the column named beside the field; nothing stored.
    bad = content.replace(b"1,000.00", b"1,OOO.00")
    response = desk.post("/issuer/statements/preview", {"file": _file(bad), "layout": ""})
    assert response.status_code == 400
    assert "贷方发生额" in field_error(text(response), "id_file")
    response = desk.post("/issuer/statements/preview", {"layout": ""})
    assert "请选择对账单文件" in field_error(text(response), "id_file")

    # The preview says what each line will do, and stores nothing.
    page = text(desk.post("/issuer/statements/preview", {"file": _file(content), "layout": ""}))
    assert f"确认订单 {paying.number} 付款" in page
    assert f"订单 {other.number} 应付" in page
    assert "金额不一致" in page
    assert page.count('data-outcome="unmatched"') == 3  # two rows and the count
    assert _lines() == before
    assert in_centre("xinjiang", lambda: Order.objects.get(number=paying.number).state) == "awaiting_payment"
    token = page.split('name="token" value="')[1].split('"')[0]
    assert "确认导入 4 笔" in page

    # Applied through the service: the paying order is paid once; the stray lines wait.
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post("/issuer/statements/apply", {"token": token})
    assert "共 4 笔，新增 4 笔" in flash(desk, response)
    assert in_centre("xinjiang", lambda: Order.objects.get(number=paying.number).state) == "awaiting_issue"
    again = desk.post("/issuer/statements/apply", {"token": token})
    assert "预览已过期" in flash(desk, again)
    # Imported again: the preview says so.
    page = text(desk.post("/issuer/statements/preview", {"file": _file(content), "layout": ""}))
    assert page.count("已导入过，不会重复入账") == 4

    lines = in_centre(
        "xinjiang",
        lambda: dict(
            StatementLine.objects.filter(status="unmatched", amount__in=["5.00", "6.00"]).values_list("amount", "pk")
        ),
    )
    page = text(desk.get("/issuer/statements/"))
    assert all(f'id="line-{pk}"' in page for pk in lines.values())
    first, second = lines[next(a for a in lines if str(a) == "5.00")], lines[next(a for a in lines if str(a) == "6.00")]
    # Assign: an order number is required, a wrong one is named; dismissing needs a reason.
    response = desk.post(f"/issuer/statement-lines/{first}/assign", {"order": ""})
    assert "请填写订单编号" in field_error(text(response), f"order-{first}")
    response = desk.post(f"/issuer/statement-lines/{second}/dismiss", {"reason": ""})
    assert response.status_code == 400
    assert field_error(text(response), f"dismiss-{second}")
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(f"/issuer/statement-lines/{first}/assign", {"order": other.number})
    assert "已指定给订单" in flash(desk, response)
    response = desk.post(f"/issuer/statement-lines/{second}/dismiss", {"reason": "非保费来款"})
    assert "已忽略" in flash(desk, response)
    states = in_centre(
        "xinjiang", lambda: dict(StatementLine.objects.filter(pk__in=[first, second]).values_list("pk", "status"))
    )
    assert states == {first: "matched", second: "dismissed"}
    labels = in_centre(
        "xinjiang",
        lambda: set(
            OrderEvent.objects.filter(order__number__in=[paying.number, other.number], actor_kind="issuer")
            .exclude(transition="approve")
            .values_list("actor_label", flat=True)
        ),
    )
    assert PERSON in labels
