"""Routing rules: which AI host(s) an exam goes to. Expected hosts are read off the rules by hand."""

from __future__ import annotations

from ris_ai_module.push.routing import route
from ris_ai_module.push.section import (
    DEFAULT_HOST,
    AiHostConfig,
    PushConfig,
    RouteCondition,
    RouteRule,
    route_problems,
)

COLUMNS = ["EXAM_KEY", "PATIENT_ID", "MODALITY", "EXAM_ITEMS", "EXAM_DESC", "CAMPUS"]

RULES = (
    RouteRule(name="breast", hosts=("breast-ai",),
              when=(RouteCondition("EXAM_ITEMS", contains=("乳腺",)),)),
    RouteRule(name="echo-east", hosts=("echo-ai", "archive-ai", "echo-ai"),
              when=(RouteCondition("MODALITY", equals=("US",)),
                    RouteCondition("EXAM_ITEMS", contains=("心脏", "超声心动")),
                    RouteCondition("CAMPUS", equals=("east", "north")))),
    RouteRule(name="west", hosts=("west-ai",), when=(RouteCondition("CAMPUS", prefix=("WE",)),)),
)


def _exam(**cols: str | None) -> dict[str, str | None]:
    base = {"exam_key": "E1", "patient_id": "P1", "modality": "US", "exam_items": "", "exam_desc": "",
            "campus": "east"}
    base.update({k.lower(): v for k, v in cols.items()})
    return base


def test_first_matching_rule_decides_and_hosts_keep_their_order_without_repeats() -> None:
    assert route(_exam(exam_items="乳腺彩超;心脏彩超"), RULES, [DEFAULT_HOST]).hosts == ("breast-ai",)
    decided = route(_exam(exam_items="心脏彩超"), RULES, [DEFAULT_HOST])
    assert decided.hosts == ("echo-ai", "archive-ai") and decided.reason == "echo-east"


def test_every_condition_must_hold_and_any_value_of_one_may() -> None:
    assert route(_exam(exam_items="超声心动图", campus="north"), RULES, []).hosts == ("echo-ai", "archive-ai")
    assert route(_exam(exam_items="心脏彩超", campus="south"), RULES, ["x"]).hosts == ("x",)  # campus fails
    assert route(_exam(exam_items="心脏彩超", modality="CT"), RULES, ["x"]).hosts == ("x",)  # modality fails


def test_case_folding_prefix_regex_and_null_columns() -> None:
    assert route(_exam(campus="west-2"), RULES, []).hosts == ("west-ai",)  # prefix WE, case folded
    strict = RouteRule(hosts=("a",), when=(RouteCondition("CAMPUS", equals=("East",), case_sensitive=True),))
    assert route(_exam(campus="east"), [strict], ["d"]).hosts == ("d",)
    rx = RouteRule(hosts=("a",), when=(RouteCondition("EXAM_DESC", regex=r"^(TI-?RADS|甲状腺)"),))
    assert route(_exam(exam_desc="甲状腺结节随访"), [rx], ["d"]).hosts == ("a",)
    assert route(_exam(exam_desc=None), [rx], ["d"]).hosts == ("d",)
    assert route(_exam(exam_desc="随访 甲状腺"), [rx], ["d"]).reason == DEFAULT_HOST


def test_a_rule_without_conditions_matches_everything_and_no_default_means_no_host() -> None:
    assert route(_exam(), [RouteRule(hosts=("all",))], []).hosts == ("all",)
    assert route(_exam(modality="CT"), RULES[:2], []).hosts == ()


def test_problems_name_the_dotted_key_and_what_is_known() -> None:
    bad = (
        RouteRule(hosts=("echo-ai", "ghost"), when=(RouteCondition("WARD", equals=("3",)),)),
        RouteRule(hosts=(), when=(RouteCondition("MODALITY"), RouteCondition("EXAM_DESC", regex="("))),
    )
    push = PushConfig(hosts=(AiHostConfig(name="echo-ai"),), routes=bad, default_hosts=("nowhere",))
    problems = dict(route_problems(push, COLUMNS))
    assert "unknown host 'ghost'" in problems["push.routes[0].hosts[1]"]
    assert "unknown RAI_V_EXAM column 'WARD'" in problems["push.routes[0].when[0].column"]
    assert "CAMPUS" in problems["push.routes[0].when[0].column"]  # the known columns are listed
    assert problems["push.routes[1].hosts"] == "a rule must name at least one host"
    assert "equals, contains, prefix, regex" in problems["push.routes[1].when[0]"]
    assert "not a regular expression" in problems["push.routes[1].when[1].regex"]
    assert "unknown host 'nowhere'" in problems["push.default_hosts[0]"]
    hosts = tuple(AiHostConfig(name=n) for n in ("breast-ai", "echo-ai", "archive-ai", "west-ai"))
    assert route_problems(PushConfig(hosts=hosts, routes=RULES), COLUMNS) == []


def test_the_canonical_view_columns_are_the_columns_the_module_reads() -> None:
    """Routing rules are checked against config's column list; the module reads db/ris.py's table."""
    from ris_ai_module.config.view import CANONICAL_COLUMNS
    from ris_ai_module.db.ris import exam_view

    assert [c.name.upper() for c in exam_view.columns] == list(CANONICAL_COLUMNS)
