"""`python -m bench.load_day` (`make bench-load`): a working day under load, end to end.

1. Data: bench/data.py's `ensure_data` (built or reused, as `make bench`), the records
   found by number and the board (`ensure_records`), and a small catalogue on the EUR
   price lists for quotes (`ensure_catalogue`).
2. Serve: gunicorn with 2 workers and production settings on 127.0.0.1, through
   bench/__main__.py's helpers.
3. Sign-ins: an API token each for a sales rep and a service agent (`create_api_token`).
4. The day: locust, headless, runs bench/locustfile.py (searches, 360 views, timeline
   scrolls, call logging, list filtering, quote building, case updates) with think time:
   50 users spawned 5 a second for 5 minutes by default.
5. Saturation: the same tasks without think time, in steps of more users, each step a
   fresh locust run; the most requests a second of any step is the throughput of the
   workers at saturation.
6. After the run: the RSS of each gunicorn worker (psutil).
7. Results, written by this code: bench/results/<name>.md and .json, with the targets
   (0 errors, p95 < 200 ms, worker RSS < 200 MB) and whether each was met.

Locust rounds response times above 100 ms to 10 ms (above 1 s to 100 ms) before its
percentiles; the generator shares the machine's CPUs with the server.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.__main__ import (
    BASE_DIR,
    DEFAULT_URL,
    RESULTS,
    SCALES,
    collect_static,
    environment,
    free_port,
    scale_summary,
    serve,
    setup_django,
)

TARGET_P95_MS = 200.0
TARGET_RSS_MB = 200.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load_day", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default=os.environ.get("SCALE") or "default")
    parser.add_argument("--customers", type=int, help="Overrides the scale's number of customers.")
    parser.add_argument("--activities", type=int, help="Overrides the scale's number of activities.")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", ""),
        help="The server's REDIS_URL (default: none).",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=0, help="Default: a free port.")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--run-time", default="5m", help="Locust's form: 300s, 5m, 1h30m.")
    parser.add_argument(
        "--warm-up", default="20s", help="A run of 4 users without think time first, not counted (0s: none)."
    )
    parser.add_argument(
        "--saturation-steps",
        default="2,4,8,16",
        help="Users per saturation step, without think time (comma-separated; empty: no step).",
    )
    parser.add_argument("--saturation-time", default="30s", help="Each saturation step's run time.")
    parser.add_argument("--name", default="load-day", help="Results go to bench/results/<name>.md and .json.")
    return parser.parse_args(argv)


# --- reading locust's files ------------------------------------------------------------


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:  # "N/A" when a name saw no request
        return None


def read_stats(stats_csv: str, failures_csv: str = "") -> dict[str, Any]:
    """Locust's `<prefix>_stats.csv` (and `_failures.csv`) -> requests, errors and
    percentiles per request name, and the same over all of them ("overall")."""
    rows = []
    for raw in csv.DictReader(io.StringIO(stats_csv)):
        row = {
            "name": raw["Name"] if raw["Name"] != "Aggregated" else "overall",
            "method": raw["Type"],
            "requests": int(raw["Request Count"]),
            "errors": int(raw["Failure Count"]),
            "p50_ms": _number(raw["50%"]),
            "p95_ms": _number(raw["95%"]),
            "p99_ms": _number(raw["99%"]),
            "max_ms": _number(raw["100%"]),
            "rps": _number(raw["Requests/s"]) or 0.0,
        }
        rows.append(row)
    overall = next((r for r in rows if r["name"] == "overall"), None)
    if overall is None:
        raise ValueError("no Aggregated row in locust's stats")
    failures = [
        {"method": f["Method"], "name": f["Name"], "error": f["Error"], "count": int(f["Occurrences"])}
        for f in csv.DictReader(io.StringIO(failures_csv))
    ]
    return {"overall": overall, "per_request": [r for r in rows if r is not overall], "failures": failures}


# --- the verdicts and the report -------------------------------------------------------


def verdicts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with the figure measured and whether it was met."""
    overall = result["day"]["overall"]
    worst_rss = max((w["rss_mb"] for w in result["workers_rss"]), default=None)
    p95 = overall["p95_ms"]
    return [
        {"target": "0 errors", "measured": f"{overall['errors']} of {overall['requests']:,}",
         "pass": overall["errors"] == 0 and overall["requests"] > 0},
        {"target": f"p95 < {TARGET_P95_MS:.0f} ms (all requests)",
         "measured": "no request" if p95 is None else f"{p95:.0f} ms",
         "pass": p95 is not None and p95 < TARGET_P95_MS},
        {"target": f"worker RSS < {TARGET_RSS_MB:.0f} MB after the run",
         "measured": "no worker found" if worst_rss is None else f"{worst_rss:.0f} MB (largest)",
         "pass": worst_rss is not None and worst_rss < TARGET_RSS_MB},
    ]  # fmt: skip


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def report_markdown(result: dict[str, Any]) -> str:
    day, env, scale = result["day"], result["environment"], result["scale"]
    checks = result["verdicts"]
    passed = all(c["pass"] for c in checks)
    lines = [
        "# Frontoffice load: a working day",
        "",
        "Written by `python -m bench.load_day` (`make bench-load`); the method is in bench/load_day.py"
        " and bench/locustfile.py. Do not edit by hand.",
        "",
        f"- Run: **{result['users']} users** (spawned {result['spawn_rate']:g}/s) for **{result['run_time']}**,"
        f" with 1-5 s think time, locust headless on 127.0.0.1, after a warm-up of {result['warm_up']}"
        " (4 users, no think time, not counted)",
        f"- Scale: {scale['customers']:,} customers, {scale['activities']:,} activities"
        f" (data {'built' if scale['built'] else 'reused'} in {scale['data_seconds']:.0f} s)",
        f"- Served by gunicorn, {result['workers']} workers, DEBUG=0, PostgreSQL",
        f"- Machine: {env['machine']}; load average before {', '.join(str(v) for v in env['load_average_before'])},"
        f" after {', '.join(str(v) for v in result['load_average_after'])}; date {env['date_utc']} UTC",
        f"- Result: **{'pass' if passed else 'fail'}**",
        "",
        "| Target | Measured | Result |",
        "|---|---|---|",
        *(f"| {c['target']} | {c['measured']} | {'pass' if c['pass'] else '**fail**'} |" for c in checks),
        "",
        f"Throughput during the day: {day['overall']['rps']:.1f} requests/s.",
        "",
        "| Request | Method | Requests | Errors | p50 | p95 | p99 | Max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in [*day["per_request"], day["overall"]]:
        name = "**all**" if row["name"] == "overall" else row["name"]
        lines.append(
            f"| {name} | {row['method']} | {row['requests']:,} | {row['errors']} | {_ms(row['p50_ms'])} |"
            f" {_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | {_ms(row['max_ms'])} |"
        )
    if day["failures"]:
        lines += ["", "Errors:", ""]
        lines += [f"- {f['count']} x {f['method']} {f['name']}: {f['error'][:200]}" for f in day["failures"]]
    steps = result["saturation"]
    if steps:
        best = max(steps, key=lambda s: s["rps"])
        lines += [
            "",
            f"Saturation: no think time, each step a fresh run of {result['saturation_time']};"
            f" **{best['rps']:.0f} requests/s** at saturation of {result['workers']} workers"
            f" (best step: {best['users']} users).",
            "",
            "| Users | Requests/s | Errors | p50 | p95 | p99 |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {s['users']} | {s['rps']:.1f} | {s['errors']} | {_ms(s['p50_ms'])} | {_ms(s['p95_ms'])} |"
            f" {_ms(s['p99_ms'])} |"
            for s in steps
        ]
        for s in steps:
            lines += [
                f"- {s['users']} users: {f['count']} x {f['method']} {f['name']}: {f['error'][:200]}"
                for f in s["failures"]
            ]
    lines += [
        "",
        "Gunicorn workers' RSS after the run: "
        + ", ".join(f"{w['rss_mb']:.0f} MB (pid {w['pid']})" for w in result["workers_rss"])
        + f"; master {result['master_rss_mb']:.0f} MB.",
        "",
    ]
    return "\n".join(lines)


# --- running ---------------------------------------------------------------------------


def sign_ins() -> dict[str, str]:
    """API tokens for the day's sales rep and service agent (create_api_token), and the
    sales rep's user id (their opportunities are the ones they may quote)."""
    from django.core.management import call_command

    from bench.workday import AGENT_USER, SALES_USER
    from frontoffice.models import User

    def token(username: str) -> str:
        out = io.StringIO()
        call_command(
            "create_api_token", username, "--expires-in-days", "1", "--name", "bench load day",
            stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
        return out.getvalue().strip()

    return {
        "BENCH_TOKEN": token(SALES_USER),
        "BENCH_AGENT_TOKEN": token(AGENT_USER),
        "BENCH_SALES_OWNER": str(User.objects.get(username=SALES_USER).pk),
    }


def run_locust(
    *, port: int, users: int, spawn_rate: float, run_time: str, env: dict[str, str], folder: Path, tag: str
) -> dict[str, Any]:
    prefix = folder / tag
    command = [
        sys.executable, "-m", "locust", "-f", str(BASE_DIR / "bench" / "locustfile.py"),
        "--headless", "--only-summary", "--loglevel", "WARNING",
        "--users", str(users), "--spawn-rate", str(spawn_rate), "--run-time", run_time,
        "--stop-timeout", "10", "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix),
    ]  # fmt: skip
    # Locust exits 1 when a request failed: the failures are read from its files.
    finished = subprocess.run(
        command, cwd=BASE_DIR, env={**os.environ, **env}, capture_output=True, text=True
    )
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        sys.stderr.write(finished.stdout[-3000:] + finished.stderr[-3000:])
        raise SystemExit(f"locust wrote no statistics ({finished.returncode}).")
    failures = Path(f"{prefix}_failures.csv")
    return read_stats(stats.read_text(), failures.read_text() if failures.exists() else "")


def workers_rss(server_pid: int) -> tuple[list[dict[str, Any]], float]:
    import psutil

    master = psutil.Process(server_pid)
    workers = [
        {"pid": child.pid, "rss_mb": child.memory_info().rss / 2**20}
        for child in master.children(recursive=False)
    ]
    return workers, master.memory_info().rss / 2**20


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    customers, activities = SCALES[args.scale]
    customers = args.customers or customers
    activities = args.activities or activities
    (BASE_DIR / "var").mkdir(exist_ok=True)
    from bench.data import ensure_data

    print(f"Data: {customers:,} customers, {activities:,} activities...", flush=True)
    info = ensure_data(
        database_url=args.database_url, customers=customers, activities=activities, seed=args.seed
    )
    print(f"  {'built' if info.built else 'reused'} in {info.seconds:.0f} s: {info.summary}", flush=True)
    collect_static(args.database_url)
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url  # server_env passes it on to the server
    setup_django(args.database_url)
    from bench.data import ensure_catalogue, ensure_records

    print(f"  records: {ensure_records(customers, args.seed)}; {ensure_catalogue()}", flush=True)
    locust_env = sign_ins()
    steps = [int(u) for u in args.saturation_steps.split(",") if u.strip()]
    before = environment()
    port = args.port or free_port()
    server = serve(args.database_url, port, args.workers)
    try:
        with tempfile.TemporaryDirectory() as folder:
            if args.warm_up.strip("0smh"):
                # Both workers load their code and caches before anything is timed.
                print(f"Warm-up: 4 users for {args.warm_up}, not counted...", flush=True)
                run_locust(
                    port=port, users=4, spawn_rate=4, run_time=args.warm_up,
                    env={**locust_env, "BENCH_THINK": "0"}, folder=Path(folder), tag="warm-up",
                )  # fmt: skip
            print(f"The day: {args.users} users for {args.run_time} on port {port}...", flush=True)
            day = run_locust(
                port=port, users=args.users, spawn_rate=args.spawn_rate, run_time=args.run_time,
                env=locust_env, folder=Path(folder), tag="day",
            )  # fmt: skip
            overall = day["overall"]
            print(
                f"  {overall['requests']:,} requests, {overall['errors']} errors, p95 {_ms(overall['p95_ms'])},"
                f" {overall['rps']:.1f}/s",
                flush=True,
            )
            saturation = []
            for users in steps:
                stats = run_locust(
                    port=port, users=users, spawn_rate=users, run_time=args.saturation_time,
                    env={**locust_env, "BENCH_THINK": "0"}, folder=Path(folder), tag=f"saturation-{users}",
                )  # fmt: skip
                step = {"users": users, **{k: stats["overall"][k] for k in ("requests", "errors", "rps")}}
                step |= {k: stats["overall"][k] for k in ("p50_ms", "p95_ms", "p99_ms")}
                step["failures"] = stats["failures"]
                saturation.append(step)
                print(
                    f"  saturation, {users} users: {step['rps']:.1f}/s, p95 {_ms(step['p95_ms'])}", flush=True
                )
        rss, master_rss = workers_rss(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result: dict[str, Any] = {
        "scale": scale_summary(args.scale, customers, info),
        "workers": args.workers,
        "users": args.users,
        "spawn_rate": args.spawn_rate,
        "run_time": args.run_time,
        "saturation_time": args.saturation_time,
        "warm_up": args.warm_up,
        "environment": before,
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "redis": bool(args.redis_url),
        "day": day,
        "saturation": saturation,
        "workers_rss": rss,
        "master_rss_mb": master_rss,
    }
    result["verdicts"] = verdicts(result)
    result["pass"] = all(c["pass"] for c in result["verdicts"])
    write_results(result, args.name)


def write_results(result: dict[str, Any], name: str, folder: Path = RESULTS) -> None:
    folder.mkdir(exist_ok=True)
    text = report_markdown(result)
    for suffix, content in ((".json", json.dumps(result, indent=2, default=str) + "\n"), (".md", text)):
        target = folder / f"{name}{suffix}"
        temporary = target.with_suffix(suffix + ".tmp")
        temporary.write_text(content)
        temporary.replace(target)
    print(text)
    print(
        f"Written to {folder.relative_to(BASE_DIR) if folder.is_relative_to(BASE_DIR) else folder}/{name}.md and .json"
    )


if __name__ == "__main__":
    started = time.monotonic()
    main(sys.argv[1:])
    print(f"({time.monotonic() - started:.0f} s)")
