"""Rebuild the vendored copy of JSONata's test suite from a checkout of jsonata-js/jsonata:

    python -m tests.jsonata_suite.build PATH     # PATH: the checkout (git checkout v2.0.6)

writes ``tests/jsonata_suite/suite-<version>.json.gz``, the version read from the checkout's
package.json. The file holds the suite as ``test/test-suite`` lays it out, in one document:
``datasets`` (each ``datasets/<name>.json`` by name) and ``cases``, every case of every
``groups/<group>/*.json`` in the order of the files' names, an array file's cases in its order,
each case's fields as written with an ``id`` ("<group>/<file>", "<group>/<file>[<index>]" for an
array file) and an ``expr-file``'s text read into ``expr``. The gzip stream is written without a
name or a time, so the same checkout gives the same bytes.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPOSITORY = "https://github.com/jsonata-js/jsonata"
SUITE = "test/test-suite"


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def suite(checkout: Path) -> dict[str, Any]:
    """The suite of `checkout` as one document."""
    version = _read(checkout / "package.json")["version"]
    root = checkout / SUITE
    datasets = {path.stem: _read(path) for path in sorted((root / "datasets").glob("*.json"))}
    cases: list[dict[str, Any]] = []
    for group in sorted(path for path in (root / "groups").iterdir() if path.is_dir()):
        for path in sorted(group.glob("*.json")):
            spec = _read(path)
            for index, case in enumerate(spec if isinstance(spec, list) else [spec]):
                name = f"{group.name}/{path.stem}" + (f"[{index}]" if isinstance(spec, list) else "")
                if "expr-file" in case:
                    case = {**case, "expr": (group / case.pop("expr-file")).read_text(encoding="utf-8")}
                cases.append({"id": name, **case})
    return {
        "source": {"repository": REPOSITORY, "tag": f"v{version}", "path": SUITE, "license": "MIT"},
        "datasets": datasets,
        "cases": cases,
    }


def write(document: dict[str, Any], target: Path) -> None:
    # ASCII JSON: a few expressions hold lone surrogates ("\ud800"), kept as escapes
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    with target.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
        out.write(text.encode("ascii"))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m tests.jsonata_suite.build PATH-TO-A-CHECKOUT-OF-jsonata-js/jsonata\n")
        return 2
    document = suite(Path(argv[0]))
    target = HERE / f"suite-{document['source']['tag'].removeprefix('v')}.json.gz"
    write(document, target)
    cases, datasets = len(document["cases"]), len(document["datasets"])
    print(f"{target}: {cases} cases, {datasets} datasets, {target.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
