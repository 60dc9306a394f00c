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
    "embeddings",
    "diarization",
    "insights",
    "semantic",
    "observability",
    "jobs_queue",
    "load",
]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of: {', '.join(BENCHMARKS)}")
    args, options = parser.parse_known_args()
    if options and len(args.names) != 1:
        parser.error(f"options ({' '.join(options)}) go with exactly one benchmark")
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        sys.stdout.write(f"\n== {name}: {module.__doc__.strip().splitlines()[0]}\n")
        sys.stdout.flush()
        if options:
            module.run(options)
        else:
            module.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
