"""`python -m bench.first_run [--port P] [--customers N] [--no-readme]`: what a new user waits.

Clones this checkout's HEAD into a temporary directory and goes through `make run` there
step by step, timing each on the wall clock: the virtualenv with the runtime packages
(`requirements.lock`, from pip's cache when it has them), `migrate`, every app's demo step
(as `manage.py demo` reports them), and the start of web, worker and beat under
supervisord until the login page answers. Then it stops the processes and removes the
clone.

The figures go to `bench/results/first-run.md` and `.json`, and into the README between
the `first-run` markers, so the README's numbers are the last measured ones; the machine's
CPU count and load average at the start are recorded beside them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
README = BASE_DIR / "README.md"
START, END = "<!-- first-run:start -->", "<!-- first-run:end -->"
DEMO_STEP = re.compile(r"^demo: (?P<name>[\w.-]+) \((?P<summary>.*)\) in (?P<seconds>[\d.]+) s$")


def timed(label: str, command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    print(f"first run: {label} ...", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"first run: {label} failed ({done.returncode})")
    return seconds, done.stdout


def wait_for(url: str, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310  # our own http:// URL
                if answer.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"first run: {url} did not answer within {timeout:.0f} s")


def measure(port: int, customers: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    clone = Path(tempfile.mkdtemp(prefix="frontoffice-first-run-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV"}}
    env.update(DEBUG="1", PORT=str(port), HOST="127.0.0.1", VAR_DIR=str(clone / "var"))
    steps: list[dict[str, Any]] = []
    server = None
    try:
        subprocess.run(["git", "clone", "--quiet", str(BASE_DIR), str(clone)], check=True)
        python = shutil.which("python3.11") or sys.executable
        seconds, _ = timed(
            "install",
            ["make", "--no-print-directory", ".venv/.runtime-stamp", f"PYTHON={python}"],
            clone,
            env,
        )
        steps.append({"step": "install the runtime packages (requirements.lock)", "seconds": seconds})
        seconds, _ = timed("migrate", [".venv/bin/python", "manage.py", "migrate", "--noinput"], clone, env)
        steps.append({"step": "migrate", "seconds": seconds})
        seconds, out = timed(
            "demo",
            [".venv/bin/python", "manage.py", "demo", "--customers", str(customers), "--if-empty"],
            clone,
            env,
        )
        parts = [m.groupdict() for m in map(DEMO_STEP.match, out.splitlines()) if m]
        for part in parts:
            steps.append(
                {"step": f"demo: {part['name']} ({part['summary']})", "seconds": float(part["seconds"])}
            )
        steps.append(
            {
                "step": "demo: admin, and the statistics (ANALYZE)",
                "seconds": max(seconds - sum(float(p["seconds"]) for p in parts), 0.0),
            }
        )
        print("first run: serve ...", flush=True)
        started = time.perf_counter()
        server = subprocess.Popen(
            ["make", "--no-print-directory", "serve"],
            cwd=clone,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(f"http://127.0.0.1:{port}/accounts/login/", timeout=180)
        steps.append(
            {
                "step": "start web, worker and beat until the login page answers",
                "seconds": time.perf_counter() - started,
            }
        )
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(clone, ignore_errors=True)
    return {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "customers": customers,
        "cpus": os.cpu_count(),
        "load_average_at_start": round(load, 2),
        "steps": [{**s, "seconds": round(s["seconds"], 1)} for s in steps],
        "total_seconds": round(sum(s["seconds"] for s in steps), 1),
    }


def table(result: dict[str, Any]) -> str:
    rows = [
        f"Measured by `make bench-first-run` on {result['measured_at'][:10]}: a fresh clone, "
        f"{result['customers']:,} demo customers, {result['cpus']} CPUs, load average "
        f"{result['load_average_at_start']} at the start (figures: "
        "[bench/results/first-run.md](bench/results/first-run.md)).",
        "",
        "| step | seconds |",
        "|---|---:|",
    ]
    rows += [f"| {s['step']} | {s['seconds']:.1f} |" for s in result["steps"]]
    rows.append(f"| **total, until the site answers** | **{result['total_seconds']:.0f}** |")
    return "\n".join(rows) + "\n"


def write(result: dict[str, Any], readme: Path | None, results: Path = RESULTS) -> None:
    results.mkdir(exist_ok=True)
    (results / "first-run.json").write_text(json.dumps(result, indent=2) + "\n")
    (results / "first-run.md").write_text("# The first `make run`\n\n" + table(result))
    if readme is not None:
        text = readme.read_text()
        if START not in text or END not in text:
            raise SystemExit(f"README.md has no {START} ... {END} markers")
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        readme.write_text(f"{head}{START}\n{table(result)}{END}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--no-readme", action="store_true", help="Write bench/results only.")
    args = parser.parse_args(argv)
    result = measure(args.port, args.customers)
    write(result, readme=None if args.no_readme else README)
    print(table(result))


if __name__ == "__main__":
    main()
