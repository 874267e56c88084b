"""Helpers shared by the benchmark scripts: data discovery, machine info, results files."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_MD = HERE / "RESULTS.md"
RESULTS_DIR = HERE / "results"


def data_root() -> Path:
    """``$ECGTOOL_DATA`` (or ../shared/data); exits with a clear reason when absent."""
    from ecgtool.io.inputs import data_dir

    root = data_dir()
    if root is None:
        sys.exit("benchmark skipped: no data folder; set ECGTOOL_DATA to the folder holding "
                 "mitdb/, nstdb/, svdb/ ... (PhysioNet WFDB files)")
    return root


def ds1_names() -> list[str]:
    """The annotated non-paced MIT-BIH DS1 records under the data root
    (``mitdb/<name>``); exits with a clear reason when there are none."""
    from ecgtool.evaluate import PACED_RECORDS
    from ecgtool.ml.main import DS1

    mit = data_root() / "mitdb"
    present = {p.stem for p in mit.glob("*.atr") if p.with_suffix(".dat").is_file()}
    names = [n for n in DS1 if n in present and n not in PACED_RECORDS]
    if not names:
        sys.exit(f"benchmark skipped: no MIT-BIH DS1 records in {mit}")
    return names


def ds1_records() -> dict:
    """The records of :func:`ds1_names`, read (``{name: Record}``)."""
    from ecgtool.io.wfdbfiles import read_wfdb

    return {n: read_wfdb(data_root() / "mitdb" / n) for n in ds1_names()}


def two_leads(path: Path):
    """A WFDB record on its default lead, and on its other lead (None where
    it has one), told apart by place: some records name both leads alike
    (SVDB: ECG, ECG)."""
    from ecgtool.io.records import choose_channel
    from ecgtool.io.wfdbfiles import read_wfdb

    leads = read_wfdb(path, all_leads=True).leads
    first = choose_channel(leads, None)
    others = [i for i in range(len(leads)) if i != first]
    return read_wfdb(path, channel=first), \
        (read_wfdb(path, channel=others[0]) if others else None)


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in ("ecgtool", "numpy", "scipy", "wfdb", "sleepecg", "neurokit2",
                "py-ecg-detectors", "jax", "flax", "optax", "scikit-learn"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                                capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions, "commit": commit,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def write_json(name: str, payload: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return path


def update_results_md(section: str, body: str) -> None:
    """Replace (or add) the section ``section`` of RESULTS.md with ``body``."""
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else \
        text.rstrip() + "\n\n" + block + "\n"
    RESULTS_MD.write_text(text)


def command_line() -> str:
    args = " ".join(sys.argv[1:])
    return f"python benchmarks/{Path(sys.argv[0]).name}" + (f" {args}" if args else "")


def md_table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)
