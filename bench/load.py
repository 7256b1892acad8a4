"""The load side of `make bench`: a process of its own, apart from the server and from
the process that prepared the plan. `python -m bench.load PLAN.json RESULT.json`.

For each scenario of the plan: its warm-up requests (not timed), then its timed requests,
one after the other over one kept-alive HTTP/1.1 connection to 127.0.0.1, each timed
from sending the request to having read the whole body.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from typing import Any


def run(plan: dict[str, Any]) -> dict[str, Any]:
    host, port = plan["host"], int(plan["port"])
    results: dict[str, Any] = {}
    for scenario in plan["scenarios"]:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        headers = {"Host": plan["host_header"], "X-Forwarded-Proto": "https", **scenario["headers"]}
        samples: list[float] = []
        statuses: dict[str, int] = {}
        for index, path in enumerate(scenario["paths"]):
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=60)
            if index < scenario["warm_up"]:
                continue
            samples.append(elapsed)
            statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1
        connection.close()
        results[scenario["name"]] = {"samples_ms": samples, "statuses": statuses}
    return results


def main(argv: list[str]) -> None:
    plan_path, result_path = argv
    with open(plan_path) as source:
        plan = json.load(source)
    with open(result_path, "w") as target:
        json.dump(run(plan), target)


if __name__ == "__main__":
    main(sys.argv[1:])
