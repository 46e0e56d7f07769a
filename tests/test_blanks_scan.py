"""The browser tests' scan for missing values printed on a page finds them, and only them."""

from __future__ import annotations

from tests.browser.blanks import blanks_in


def test_a_missing_value_in_text_or_an_input_is_found() -> None:
    assert blanks_in("<p>约 None 个工作日</p>") == ["约 None 个工作日"]
    assert blanks_in("<p>约None个工作日</p>") == ["约None个工作日"]
    assert blanks_in('<input name="bank" value="null">') == ['<input value="null">']
    assert blanks_in("<td>undefined</td>") == ["undefined"]


def test_scripts_styles_and_longer_words_are_not_findings() -> None:
    html = "<script>if (x === null || y === undefined) {}</script><style>.None{}</style><p>nullable Nonetheless</p>"
    assert blanks_in(html) == []
