#!/bin/bash
# Runs inside the emulated arm64 root (deploy/check-arm64.sh copies it to /opt/kit): offline install from
# the aarch64 kit, then the module's own commands against its demo, as a hospital IT engineer would.
set -euo pipefail
T0=$(date +%s)
stamp() { echo "[inside +$(( $(date +%s) - T0 )) s] $*"; }
cd /opt/kit
stamp "machine $(uname -m), $(python3 --version)"
sha256sum --quiet -c SHA256SUMS
python3 -m venv /opt/ris/venv
/opt/ris/venv/bin/pip install -q --no-index --find-links wheels -r "requirements/linux-aarch64-py${PYVER}.txt"
stamp "installed offline: $(/opt/ris/venv/bin/pip list 2>/dev/null | tail -n +3 | wc -l) packages"
/opt/ris/venv/bin/python -c "import platform, sqlalchemy, psycopg, oracledb, cryptography; \
print('compiled wheels load on', platform.machine(), '- sqlalchemy', sqlalchemy.__version__, \
'psycopg', psycopg.__version__, 'oracledb', oracledb.__version__, 'cryptography', cryptography.__version__)"
RAI=/opt/ris/venv/bin/ris-ai-module

$RAI parse-sr echo-E0001.dcm --format json > /tmp/parsed.json
/opt/ris/venv/bin/python - <<'EOF'
import json
m = {x["key"]: (x["value"], x["unit"]) for x in json.load(open("/tmp/parsed.json"))["measurements"]}
assert m["LVIDd"] == (47.0, "mm") and m["LVEF"] == (60.0, "%"), m
print(f"parse-sr: {len(m)} measurements, LVIDd {m['LVIDd']}, LVEF {m['LVEF']}")
EOF

cd /opt/ris
$RAI init-demo demo --dicom-port 11612 --http-port 18612 --ai-url http://127.0.0.1:9/api/exams
$RAI --config demo/ris-ai-module.toml config check
$RAI --config demo/ris-ai-module.toml run > run.log 2>&1 &
RUN=$!
trap 'kill -TERM $RUN 2>/dev/null || true' EXIT   # a failed step leaves no module running
if ! /opt/ris/venv/bin/python - <<'EOF'
import time, urllib.request
for _ in range(1200):
    try:
        with urllib.request.urlopen("http://127.0.0.1:18612/healthz", timeout=1) as r:
            if r.status == 200:
                break
    except OSError:
        time.sleep(0.5)
else:
    raise SystemExit("run did not come up in 600 s (emulation on a loaded machine is slow)")
EOF
then kill -TERM "$RUN"; wait "$RUN" || true; exit 1; fi
stamp "run is up (pid $RUN)"
$RAI --config demo/ris-ai-module.toml echo --host 127.0.0.1 --port 11612 --aet RIS_AI --calling-aet DEMO_AI
/opt/ris/venv/bin/python -m pynetdicom storescu 127.0.0.1 11612 /opt/kit/echo-E0001.dcm -aet DEMO_AI -aec RIS_AI
stamp "C-STORE of the SR done"
/opt/ris/venv/bin/python - <<'EOF'
import sqlite3, time
for _ in range(240):
    with sqlite3.connect("demo/ris.db") as db:
        rows = dict(db.execute("SELECT ITEM_KEY, ITEM_VALUE FROM RIS_REPORT_MEASURE WHERE EXAM_ID = 'E0001'"))
        report = db.execute("SELECT FINDINGS FROM RIS_REPORT WHERE EXAM_ID = 'E0001'").fetchone()
    if rows and report:
        break
    time.sleep(0.5)
findings = (report[0] if report else "") or ""
assert rows.get("LVEF") == "60" and rows.get("LVIDd") == "47.0", rows
assert "左室射血分数60%" in findings, findings
print(f"report written: {len(rows)} rows in RIS_REPORT_MEASURE for E0001, LVEF={rows['LVEF']}, "
      f"LVIDd={rows['LVIDd']}; findings: {findings[:60]}...")
EOF
kill -TERM "$RUN"
if wait "$RUN"; then stamp "run stopped on SIGTERM with exit status 0"; else echo "run exited with $?" >&2; exit 1; fi
if grep -q Traceback run.log; then echo "traceback in run.log" >&2; exit 1; fi
