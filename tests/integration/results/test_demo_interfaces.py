"""`init-demo --outbox DIR --hl7 HOST:PORT` on the demo installation: DCMTK storescu sends an SR for 张三's
exam (E0001, accession A20261127001), the worker applies it, and both interfaces deliver it — the outbox
file, and an ORU^R01 acknowledged by an hl7apy MLLP listener on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from ris_ai_module.cli.main import main
from ris_ai_module.context import make_context
from ris_ai_module.dicom.scp import StorageScp
from ris_ai_module.runtime import make_worker, task_handlers
from ris_ai_module.settings import load_config
from tests.integration.dicom import dcmtk
from tests.integration.results.mllp_peers import mllp_peer, reps
from tests.sr_fixtures.build import save
from tests.sr_fixtures.cases import adult_echo_full
from tests.support import as_patient, free_port


def test_demo_switches_deliver_an_sr_to_the_outbox_and_over_hl7(tmp_path: Path):
    out = tmp_path / "outbox"
    with mllp_peer("AA") as peer:
        config = tmp_path / "demo" / "ris-ai-module.toml"
        assert main(["init-demo", str(config.parent), "--dicom-port", str(free_port()), "--http-port",
                     str(free_port()), "--ai-url", "http://127.0.0.1:9/api/exams", "--outbox", str(out),
                     "--hl7", f"127.0.0.1:{peer.port}"]) == 0
        ctx = make_context(load_config(config))
        scp = StorageScp(ctx)
        scp.start()
        try:
            sr = as_patient(adult_echo_full(), "P000123", "张三")
            sr.AccessionNumber = "A20261127001"
            result = dcmtk.storescu(scp.port, save(sr, tmp_path / "sr.dcm"))
            assert dcmtk.store_statuses(result.stdout + result.stderr) == ["Success"], result.stderr
            worker = make_worker(ctx, task_handlers(ctx))
            for _ in range(5):
                if worker.run_once() == 0:
                    break
        finally:
            scp.stop()
            ctx.engine.dispose()
        data = json.loads((out / "A20261127001.json").read_text(encoding="utf-8"))
        assert (data["exam"]["patient_name"], data["exam"]["exam_key"]) == ("张三", "E0001")
        assert {m["key"]: m["value"] for m in data["measurements"]}["LVEF"] == 60.0
        [msg] = peer.received
        assert reps(msg.pid, "PID_5") == ["张三"] and msg.obr.obr_3.to_er7() == "A20261127001"
