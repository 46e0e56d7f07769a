"""The platform's home lists the centres a page at a time, searchable by name or code, at a constant
number of statements however many centres there are."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from baohan.portal import views

pytestmark = pytest.mark.django_db


def listed(page: str) -> list[str]:
    return re.findall(r'data-centre="([^"]+)"', page)


def test_centres_are_listed_a_page_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(HTTP_HOST="localhost")
    everyone = listed(client.get("/").content.decode())
    assert {"xinjiang", "benxi", "xuancheng"} <= set(everyone)
    monkeypatch.setattr(views, "CENTRES_PER_PAGE", 2)
    first = client.get("/").content.decode()
    second = client.get("/?page=2").content.decode()
    assert len(listed(first)) == 2
    assert set(listed(first)) | set(listed(second)) <= set(everyone)
    assert not set(listed(first)) & set(listed(second))
    assert 'rel="next"' in first
    assert 'rel="prev"' in second
    # a page number that is not plain ASCII digits is the first page; past the end, the last
    assert listed(client.get("/?page=２").content.decode()) == listed(first)
    assert listed(client.get("/?page=999").content.decode()) == listed(
        client.get(f"/?page={(len(everyone) + 1) // 2}").content.decode()
    )


def test_a_search_finds_centres_by_name_or_code() -> None:
    client = Client(HTTP_HOST="localhost")
    assert listed(client.get("/?q=本溪").content.decode()) == ["benxi"]
    assert listed(client.get("/?q=xuancheng").content.decode()) == ["xuancheng"]
    page = client.get("/?q=不存在的中心").content.decode()
    assert listed(page) == []
    assert "没有找到名称或代码与之相符的交易中心" in page


def test_the_home_costs_the_same_statements_whatever_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(HTTP_HOST="localhost")
    counts = []
    for size in (1, 2, 30):
        monkeypatch.setattr(views, "CENTRES_PER_PAGE", size)
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/").status_code == 200
        counts.append(len(captured.captured_queries))
    assert len(set(counts)) == 1, counts
    assert counts[0] <= 4


def test_the_platform_api_answers_on_the_platform_host_only() -> None:
    answer = Client(HTTP_HOST="localhost").get("/api/v1/platform")
    assert answer.status_code == 200
    assert answer.json()["name"] == "电子保函服务平台"
    assert answer.json()["region"] is None
    assert Client(HTTP_HOST="benxi.localhost").get("/api/v1/platform").status_code == 404
