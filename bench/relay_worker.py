"""One relay worker of the suite's throughput scenario (bench/inprocess.py): Django on
the environment it was given, prints "ready", waits for a line on stdin, then relays
the outbox (`relay_due`, what one Celery worker runs) until nothing is due, and prints
what it claimed as JSON."""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings


def main() -> None:
    import django

    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
    django.setup()
    logging.disable(logging.INFO)
    from backoffice_sync.outbox import relay_due

    print("ready", flush=True)
    sys.stdin.readline()
    claimed = 0
    started = time.perf_counter()
    while True:
        report, more = relay_due(time_budget_seconds=3600, max_batches=10_000)
        claimed += report.claimed
        if not more:
            break
    print(json.dumps({"claimed": claimed, "seconds": time.perf_counter() - started}), flush=True)


if __name__ == "__main__":
    main()
