"""Benchmark: this engine's read-and-map vs the plain pydicom walk vs DCMTK dsrdump, on the same files.

Run from the repository root:  python bench/sr_parse.py [--repeat N]

Files are generated at run time (nothing is committed): an adult echo SR of ~240 content items
(~50 KB), a vascular + OB SR of ~250 content items (TID 5100 vessel containers with sides and
segments, TID 5000 biometry groups with GA/percentile and fetal Doppler with Doppler angles; issue 8),
an SR with 10,000 NUM items, and two of the test fixtures. For each file: median milliseconds per file of
  engine   ris_ai_module.sr.parse.parse_sr_file (read, walk, identify, convert, select)
  pydicom  dcmread, then visit every content item once and read each NUM's value, unit and concept
  dsrdump  the DCMTK process (`dsrdump -Ec FILE`), and the same minus an empty-SR run (≈ parsing)
plus the ratios, and the peak Python memory (tracemalloc) of the engine and the pydicom walk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pydicom  # noqa: E402

from ris_ai_module.sr.parse import parse_sr_file  # noqa: E402
from tests.sr_fixtures import cases, structures  # noqa: E402
from tests.sr_fixtures.build import (  # noqa: E402
    DERIVATION,
    FINDINGS,
    LATERALITY,
    LEFT,
    MEAN,
    RIGHT,
    code,
    container,
    num,
    site,
)

SECTIONS = [cases.LV, cases.LA, cases.AORTA, cases.MV, cases.AV, cases.TV, cases.PV, cases.RV]
CONCEPTS = [(cases.LVIDD, 4.6, "cm"), (cases.PEAK_VEL, 1.2, "m/s"), (cases.VTI, 21.0, "cm"),
            (cases.MEAN_PG, 3.1, "mm[Hg]"), (cases.EF, 61.0, "%"), (cases.E_PRIME, 8.0, "cm/s")]


def echo_sr(n_nums: int):
    """An adult echo SR with ``n_nums`` NUM items in 8 sections, every 4th one a derived mean."""
    per_section = -(-n_nums // len(SECTIONS))
    sections, made = [], 0
    for subject in SECTIONS:
        items = []
        for i in range(min(per_section, n_nums - made)):
            concept, value, unit = CONCEPTS[i % len(CONCEPTS)]
            mods = [code(DERIVATION, MEAN)] if i % 4 == 3 else []
            items.append(num(concept, round(value + i * 0.01, 2), unit, *mods))
        made += len(items)
        groups = [cases.group(*items[k:k + 12]) for k in range(0, len(items), 12)]
        sections.append(cases.section(subject, *groups))
    return cases.document(cases.ECHO, sections, template="5200")


VESSELS = [structures.CCA, structures.ICA, structures.ECA, structures.VA,
           cases.c("SCT:36765005", "Subclavian artery"), cases.c("SCT:21479005", "Carotid Bulb")]


def vascular_ob_sr():
    """~250 content items: both carotid sides (6 vessel containers each, PSV proximal/distal, EDV, RI)
    and twins with four biometry groups (3 replicates + mean, GA, percentile) and fetal Doppler."""
    sides = []
    for side in (RIGHT, LEFT):
        groups = [container(v, num(structures.PSV, 80 + i, "cm/s", code(structures.TOPO, structures.PROXIMAL)),
                            num(structures.PSV, 75 + i, "cm/s", code(structures.TOPO, structures.DISTAL)),
                            num(structures.EDV, 20 + i, "cm/s"), num(structures.RI, 0.7, "{ratio}"),
                            num(structures.PI, 1.1, "{ratio}"), num(cases.c("LN:20352-1", "Time averaged mean velocity"),
                                                                     40 + i, "cm/s"))
                  for i, v in enumerate(VESSELS)]
        sides.append(container(FINDINGS, site(cases.c("SCT:45048000", "Neck")), code(LATERALITY, side), *groups))
    fetuses = []
    for fid in ("1", "2"):
        ctx = structures._fetus_context(fid)
        bio = [container(structures.BIOMETRY_GROUP, num(concept, v, "mm"), num(concept, v + 1, "mm"),
                         num(concept, v + 2, "mm"), num(concept, v + 1, "mm", code(DERIVATION, MEAN)),
                         num(structures.GA, 230 + k, "d"), num(structures.GROWTH_PCT, 40 + k, "%"))
               for k, (concept, v) in enumerate(((cases.c("LN:11820-8", "BPD"), 84), (cases.c("LN:11984-2", "HC"), 300),
                                                 (cases.c("LN:11979-2", "AC"), 290), (cases.c("LN:11963-6", "FL"), 64),
                                                 (cases.c("LN:11966-9", "HL"), 58)))]
        doppler = [container(v, num(structures.PI, 1.0, "{ratio}", num(structures.DOPPLER_ANGLE, 15, "deg", rel="props")),
                             num(structures.RI, 0.6, "{ratio}"), num(structures.PSV, 50, "cm/s"))
                   for v in (structures.UMBILICAL_ARTERY, structures.MCA)]
        doppler.append(container(structures.DUCTUS_VENOSUS, num(structures.PI, 0.5, "{ratio}")))
        fetuses.append(container(structures.FETAL_BIOMETRY, *ctx, *bio))
        fetuses.append(container(FINDINGS, *ctx, *doppler))
        fetuses.append(container(structures.FETUS_SUMMARY, *ctx, num(cases.c("LN:11727-5", "EFW"), 2300, "g"),
                                 num(cases.c("LN:11767-1", "EFW percentile rank"), 45, "%"), num(structures.GA, 236, "d")))
    uterine = container(FINDINGS, site(structures.PELVIS_UTERUS), *(
        container(structures.UTERINE_ARTERY, code(LATERALITY, side), num(structures.PI, 0.9, "{ratio}"),
                  num(structures.RI, 0.55, "{ratio}")) for side in (LEFT, RIGHT)))
    return cases.document(structures.OB_GYN, sides + fetuses + [uterine])


def count_items(ds) -> int:
    stack, n = list(ds.get("ContentSequence", [])), 0
    while stack:
        item = stack.pop()
        n += 1
        stack.extend(item.get("ContentSequence", []))
    return n


def plain_pydicom_walk(path: Path) -> int:
    """The reader this engine replaces: every item visited once, each NUM's value/unit/concept read."""
    ds = pydicom.dcmread(path)
    stack = list(ds.get("ContentSequence", []))
    found = 0
    while stack:
        item = stack.pop()
        if item.get("ValueType") == "NUM":
            concept = item.ConceptNameCodeSequence[0]
            _ = (concept.CodeValue, concept.CodingSchemeDesignator, concept.CodeMeaning)
            mv = item.get("MeasuredValueSequence")
            if mv:
                _ = (mv[0].get("NumericValue"), mv[0].MeasurementUnitsCodeSequence[0].CodeValue)
            found += 1
        stack.extend(item.get("ContentSequence", []))
    return found


def engine(path: Path) -> int:
    return len(parse_sr_file(path).measurements)


def dsrdump(path: Path) -> None:
    subprocess.run(["dsrdump", "-Ec", str(path)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def median_ms(fn, path: Path, repeat: int) -> float:
    fn(path)  # warm-up: imports, catalog load, caches
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(path)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def peak_kib(fn, path: Path) -> float:
    fn(path)
    tracemalloc.start()
    fn(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    have_dcmtk = shutil.which("dsrdump") is not None
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files, items = {}, {}
        # 170 NUMs + their modifiers, sections and groups = ~240 content items, ~50 KB.
        for name, ds in (("echo_240", echo_sr(170)), ("vasc_ob_250", vascular_ob_sr()),
                         ("echo_10000", echo_sr(10_000)),
                         ("adult_echo_full", cases.adult_echo_full()), ("ob_twins", cases.ob_twins())):
            files[name] = d / f"{name}.dcm"
            ds.save_as(files[name], enforce_file_format=True)
            items[name] = count_items(ds)
        empty = d / "empty.dcm"
        cases.empty_sr().save_as(empty, enforce_file_format=True)
        base = median_ms(dsrdump, empty, args.repeat) if have_dcmtk else None
        print(f"python {sys.version.split()[0]}, pydicom {pydicom.__version__}, {os.cpu_count()} cores, "
              f"median of {args.repeat} runs; dsrdump process baseline (empty SR) "
              f"{base:.1f} ms" if base is not None else "dsrdump not installed")
        head = (f"{'file':<16}{'KB':>7}{'items':>7}{'NUMs':>7}{'engine ms':>11}{'pydicom ms':>12}{'dsrdump ms':>12}"
                f"{'dsr-base':>10}{'eng/pyd':>9}{'eng/dsr':>9}{'eng KiB':>10}{'pyd KiB':>10}")
        print(head)
        print("-" * len(head))
        for name, path in files.items():
            reps = max(3, args.repeat // 10) if "10000" in name else args.repeat
            n = engine(path)
            assert plain_pydicom_walk(path) >= n
            e = median_ms(engine, path, reps)
            p = median_ms(plain_pydicom_walk, path, reps)
            s = median_ms(dsrdump, path, reps) if have_dcmtk else float("nan")
            parse = s - base if base is not None else float("nan")
            em, pm = peak_kib(engine, path), peak_kib(plain_pydicom_walk, path)
            print(f"{name:<16}{path.stat().st_size / 1024:>7.1f}{items[name]:>7}{n:>7}{e:>11.2f}{p:>12.2f}{s:>12.2f}{parse:>10.2f}"
                  f"{e / p:>9.2f}{e / s:>9.2f}{em:>10.0f}{pm:>10.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
