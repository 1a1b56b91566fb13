"""How RIS staff type a patient's name: Chinese, full pinyin, initials, any case, polyphonic surnames."""

from __future__ import annotations

import pytest

from ris_ai_module.web.lookup import is_pinyin, matches_pinyin, pinyin_keys


@pytest.mark.parametrize(("name", "query"), [
    ("张三丰", "zhangsanfeng"), ("张三丰", "ZhangSan"), ("张三丰", "zsf"), ("张三丰", "ZS"), ("张三丰", "sanfeng"),
    ("张三丰", "zhang san"), ("欧阳娜娜", "ouyang"), ("欧阳娜娜", "oynn"),
    # surnames read differently from the character's usual reading
    ("曾小贤", "zengxiaoxian"), ("曾小贤", "zxx"), ("单田芳", "shantianfang"), ("解晓东", "xiexiaodong"),
    ("区志伟", "ouzhiwei"), ("仇英", "qiuying"), ("朴树", "piaoshu"), ("查良镛", "zhaliangyong"),
    ("吕布", "lvbu"), ("吕布", "lubu"), ("长孙无忌", "zhangsun"),
    ("Li Na 李娜", "lina"),
])
def test_a_name_is_found_by_what_staff_type(name: str, query: str) -> None:
    assert is_pinyin(query)
    assert matches_pinyin(name, query)


@pytest.mark.parametrize(("name", "query"), [("张三丰", "lisi"), ("张三丰", "zsx"), ("李四", "zhang")])
def test_other_names_do_not_match(name: str, query: str) -> None:
    assert not matches_pinyin(name, query)


def test_chinese_or_mixed_text_is_not_a_pinyin_query() -> None:
    assert not is_pinyin("张") and not is_pinyin("张san") and not is_pinyin("P100")


def test_many_polyphonic_characters_keep_a_bounded_number_of_spellings() -> None:
    full, initials = pinyin_keys("单解区仇朴查乐长")
    assert 1 < len(full) <= 32 and len(initials) <= 32
    assert any(f.startswith("shan") for f in full), "every reading of the surname is kept"


def test_names_without_letters_have_no_spelling() -> None:
    assert pinyin_keys("·") == ((), ())
    assert not matches_pinyin("·", "a")
