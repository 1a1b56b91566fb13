"""``ris-ai-module init-demo DIR``: a working installation on an embedded SQLite demo RIS.

It writes ``DIR/ris-ai-module.toml``, ``DIR/ris.db`` (the demo RIS shaped like a Chinese hospital
RIS, with the RAI_* tables, view and trigger) and ``DIR/storage/``. Parts of the system that need
their own section in the demo config offer ``demo_config_section(dicom_port, http_port) -> str``, listed
in ``SECTION_PROVIDERS`` by real import.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import column, create_engine, insert, table

from ris_ai_module.db import migrate
from ris_ai_module.dicom import demo as dicom_demo
from ris_ai_module.health import demo as health_demo
from ris_ai_module.report import demo as report_demo
from ris_ai_module.web import demo as web_demo

CONFIG_NAME = "ris-ai-module.toml"

#: The parts' own sections of the demo configuration, in this order; real imports, so that import-linter
#: sees them (``demo`` sits at the top, beside the composition roots).
SECTION_PROVIDERS: tuple[Callable[[int, int], str], ...] = (
    dicom_demo.demo_config_section,
    report_demo.demo_config_section,
    health_demo.demo_config_section,
    web_demo.demo_config_section,
)

DEMO_EXAMS = (
    ("E0001", "P000123", "张三", "M", "1968-03-14", "A20261127001", "心脏彩超", "超声心动图（经胸）", "REGISTERED"),
    ("E0002", "P000456", "李四芳", "F", "1990-11-02", "A20261127002", "产科超声", "中孕期胎儿系统超声", "REGISTERED"),
    ("E0003", "P000789", "欧阳明", "M", "1955-07-30", "A20261127003", "颈部血管彩超", "双侧颈动脉超声", "REGISTERED"),
    ("E0004", "P001024", "王小丫", "F", "2019-05-21", "A20261127004", "心脏彩超", "小儿超声心动图", "REGISTERED"),
)


#: The AI host is checked like every peer (its exam API answers GET; the demo's simulator does).
AI_HOST_CHECK = '''
[[health.http]]
# AI 主机接口也纳入健康检查。 The AI host's API is checked like the DICOM peers.
name = "ai-host"
url = "{ai_url}"
'''


def base_config(ai_url: str) -> str:
    return f'''# ris-ai-module demo configuration, written by `ris-ai-module init-demo`.
# 演示配置：所有键的说明见 `ris-ai-module config example`。

[module]
instance_name = "demo"
hospital_name = "演示医院"

[database]
url = "sqlite:///ris.db"

[ris]
detect = "trigger"

[worker]
threads = 2

[push]
url = "{ai_url}"
connect_timeout = "3s"
read_timeout = "10s"

[push.retry]
initial = "5s"
max_delay = "2m"
max_attempts = 20

[logging]
file = "logs/ris-ai-module.log"
'''


def write_demo(folder: Path, dicom_port: int, http_port: int, ai_url: str, force: bool = False,
               extra_sections: str = "") -> Path:
    """Create the demo; refuses to overwrite an existing config unless ``force``. ``extra_sections``: config text
    appended (the interfaces that ``init-demo`` options switch on)."""
    from ris_ai_module.db.scripts import apply_script, list_scripts

    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / CONFIG_NAME
    if config_path.exists() and not force:
        raise FileExistsError(f"{config_path} exists (use --force to overwrite)")
    (folder / "storage").mkdir(exist_ok=True)
    (folder / "logs").mkdir(exist_ok=True)
    text = base_config(ai_url)
    for section in SECTION_PROVIDERS:
        text += "\n" + section(dicom_port, http_port)
    text += AI_HOST_CHECK.format(ai_url=ai_url)
    text += extra_sections
    config_path.write_text(text, encoding="utf-8")

    db_path = folder / "ris.db"
    if db_path.exists() and force:
        db_path.unlink()
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        migrate.upgrade(engine)
        for script in list_scripts("sqlite"):
            if not script.name.startswith("9"):
                apply_script(engine, script)
        exams = table(
            "ris_exam", *(column(c) for c in (
                "exam_id", "patient_id", "patient_name", "sex", "birth_date", "accession_no", "exam_items",
                "exam_desc", "exam_status", "modality", "exam_date")),
        )
        today = datetime.now().replace(microsecond=0)
        with engine.begin() as conn:
            for row in DEMO_EXAMS:
                values = dict(zip(("exam_id", "patient_id", "patient_name", "sex", "birth_date", "accession_no",
                                   "exam_items", "exam_desc", "exam_status"), row, strict=True))
                conn.execute(insert(exams).values(modality="US", exam_date=today, **values))
    finally:
        engine.dispose()
    return config_path
