"""Run the benchmarks named on the command line, or all of them."""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = [
    "http_basics",
    "live_db",
    "streaming",
    "simulate",
    "exports",
    "queries",
    "backup",
    "fuzz",
    "voice_encoder",
    "diarization",
]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of: {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        sys.stdout.write(f"\n== {name}: {module.__doc__.strip().splitlines()[0]}\n")
        sys.stdout.flush()
        module.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
