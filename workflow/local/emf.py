"""The metrics in the EMF lines the functions print (Powertools' CloudWatch EMF provider), summed
by (namespace, name) as CloudWatch sums them: what the local console's dashboard shows."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any


class EmfTally:
    """The sums of the metrics in the EMF lines printed in this process, by (namespace, name)."""

    def __init__(self) -> None:
        self._sums: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def count(self, line: str) -> None:
        if not line.startswith('{"_aws"'):
            return
        try:
            record = json.loads(line)
            directives = record["_aws"]["CloudWatchMetrics"]
        except (ValueError, KeyError, TypeError):
            return
        found: dict[tuple[str, str], float] = {}
        for directive in directives:
            for metric in directive.get("Metrics", []):
                value = record.get(metric.get("Name"))
                values = value if isinstance(value, list) else [value]
                key = (str(directive.get("Namespace", "")), str(metric["Name"]))
                found[key] = found.get(key, 0) + sum(v for v in values if isinstance(v, int | float))
        with self._lock:
            for key, value in found.items():
                self._sums[key] = self._sums.get(key, 0) + value

    def counting(self, printer: Callable[..., None]) -> Callable[..., None]:
        """`printer` (what Powertools prints EMF lines with), counting each line first."""

        def print_and_count(*values: object, **options: Any) -> None:
            self.count(" ".join(str(value) for value in values))
            printer(*values, **options)

        print_and_count.counted = True  # type: ignore[attr-defined]
        return print_and_count

    def sum(self, namespace: str, name: str) -> float:
        with self._lock:
            return self._sums.get((namespace, name), 0)


EMF = EmfTally()  # one per process, as Powertools prints through one module attribute
