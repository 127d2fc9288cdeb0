"""Start-up cost: materialising one day of one stream at the terminal against importing Dagster.

    .venv/bin/python -m plumbing_dagster_tests.benchmarks.startup [--repeat R] [--asset KEY]

(a) `python -c "import dagster"` — the floor any Dagster command pays;
(b) `dagster asset materialize -m plumbing_dagster.definitions --select raw/shop/users_landed
    --partition <day>` in the sandbox (emulator on loopback, landing zone on local disk, a fresh
    DAGSTER_HOME with the repository's dagster.yaml, this package's bytecode written — all as
    `plumbing sandbox` prepares them): loading the code location, the run's bookkeeping, one
    small API read and one landed file.

The floor (`startup_floor`), what Dagster and dlt cost on their own, measured in the same rounds:
(c) `dagster asset materialize` of a no-op daily asset in a pool, in-process, on the same instance
    and with the same process levers;
(d) importing dlt and running its first pipeline (194 rows to local parquet) in a process that has
    imported Dagster, SQLAlchemy and pyarrow, timed inside that process.
(c) + (d) is a one-day raw step with nothing of ours in it; (b) minus that is what our code
location, HTTP extraction and landing add.

One warm-up of each (the first run creates the instance's database), then runs alternate a, b, c,
d, a, b, ...; the medians are compared. The last line is `startup: ratio <b/a> (target <= 3)`.
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
from pathlib import Path

from plumbing_dagster.sandbox import compile_package

TARGET_RATIO = 3.0
DAY = "2026-11-01"


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    return completed


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    run(command, env, cwd)
    return time.perf_counter() - start


def timed_inside(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """The seconds a command prints as its last line (it times itself)."""
    return float(run(command, env, cwd).stdout.split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--asset", default="raw/shop/users_landed")
    args = parser.parse_args(argv)
    out = sys.stdout
    bin_dir = Path(sys.executable).parent
    import_dagster = [sys.executable, "-c", "import dagster"]
    materialize = [
        str(bin_dir / "dagster"), "asset", "materialize", "-m", "plumbing_dagster.definitions",
        "--select", args.asset, "--partition", DAY,
    ]  # fmt: skip
    floor_module = "plumbing_dagster_tests.benchmarks.startup_floor"
    noop_materialize = [
        str(bin_dir / "dagster"), "asset", "materialize", "-m", floor_module,
        "--select", "startup_floor/noop", "--partition", DAY,
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="plumbing-startup-") as tmp:
        cwd = Path(__file__).resolve().parents[2]
        home = Path(tmp) / "dagster_home"
        home.mkdir()
        shutil.copyfile(
            cwd / "dagster.yaml", home / "dagster.yaml"
        )  # the sandbox's instance, as `plumbing sandbox`
        compile_package()  # as `plumbing sandbox`: bytecode even where PYTHONDONTWRITEBYTECODE is set
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "PLUMBING_ENV": "sandbox",
            "PLUMBING_DATA_DIR": str(Path(tmp) / "data"),
        }
        out.write(
            f"startup: {args.asset} for {DAY}, {args.repeat} runs each, python {sys.version.split()[0]}\n"
        )
        floor_dlt = [sys.executable, "-m", floor_module]
        timed(import_dagster, env, cwd)
        out.write(f"  warm-up materialize: {timed(materialize, env, cwd):.2f} s\n")
        timed(noop_materialize, env, cwd)
        timed_inside([*floor_dlt, str(Path(tmp) / "floor-warm-up")], env, cwd)
        import_times: list[float] = []
        run_times: list[float] = []
        noop_times: list[float] = []
        dlt_times: list[float] = []
        for attempt in range(args.repeat):
            import_times.append(timed(import_dagster, env, cwd))
            run_times.append(timed(materialize, env, cwd))
            noop_times.append(timed(noop_materialize, env, cwd))
            dlt_times.append(timed_inside([*floor_dlt, str(Path(tmp) / f"floor-{attempt}")], env, cwd))
            out.write(
                f"  run {attempt + 1}: import dagster {import_times[-1]:.2f} s, "
                f"materialize {run_times[-1]:.2f} s, no-op materialize {noop_times[-1]:.2f} s, "
                f"dlt's first pipeline {dlt_times[-1]:.2f} s\n"
            )
        landed = sorted((Path(tmp) / "data").rglob("*.parquet"))
        if not landed:
            raise RuntimeError(
                f"no landed file under {Path(tmp) / 'data'}: the runs did not land {args.asset}"
            )
    import_median = statistics.median(import_times)
    run_median = statistics.median(run_times)
    # The floor's figures pair each round's runs (the machine's speed drifts between rounds).
    floors = [noop + dlt for noop, dlt in zip(noop_times, dlt_times, strict=True)]
    floor_ratio = statistics.median(f / a for f, a in zip(floors, import_times, strict=True))
    above_floor = statistics.median(b - f for b, f in zip(run_times, floors, strict=True))
    out.write(f"import dagster (median): {import_median:.2f} s\n")
    out.write(f"materialize one day (median): {run_median:.2f} s\n")
    out.write(
        f"floor, Dagster and dlt alone (medians): no-op materialize {statistics.median(noop_times):.2f} s"
        f" + dlt's first pipeline {statistics.median(dlt_times):.2f} s; ratio {floor_ratio:.2f}"
        " (per round)\n"
    )
    out.write(f"ours above the floor: {above_floor:+.2f} s (per round, median)\n")
    out.write(f"startup: ratio {run_median / import_median:.2f} (target <= {TARGET_RATIO:g})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
