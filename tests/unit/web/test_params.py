"""Query parameters of the look-up: a bad value is refused naming the parameter."""

from __future__ import annotations

from datetime import datetime

import pytest

from ris_ai_module.errors import InvalidInput
from ris_ai_module.web import params


def test_a_date_range_end_includes_the_whole_day() -> None:
    assert params.day("2026-11-25", "from") == datetime(2026, 11, 25)
    assert params.day("2026-11-25", "to", end=True) == datetime(2026, 11, 26)
    assert params.day("", "from") is None


@pytest.mark.parametrize(("call", "field"), [
    (lambda: params.day("2026-02-30", "from"), "from"),
    (lambda: params.day("25.11.2026", "to"), "to"),
    (lambda: params.integer("0", "limit", 50, 1, 500), "limit"),
    (lambda: params.integer("ten", "offset", 0, 0, 10), "offset"),
    (lambda: params.text("x" * 65, "name"), "name"),
])
def test_bad_values_name_the_parameter(call, field: str) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput) as err:
        call()
    assert err.value.field == field


def test_blank_text_is_no_filter() -> None:
    assert params.text("  ", "name") is None and params.text(" 张 ", "name") == "张"
