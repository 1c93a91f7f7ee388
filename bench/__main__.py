"""`.venv/bin/python -m bench`: the performance benchmark (docs/benchmark.md)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import List, Optional, Tuple

from bench import machine, report
from bench.benchmark import LABELS, Options, run

RESULTS = Path(__file__).resolve().parent / "results"
MAX_USERS = 1000
MAX_SECONDS = 3600


def _users(raw: str) -> List[int]:
    try:
        levels = sorted({int(part) for part in raw.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {raw!r}") from None
    if not levels or levels[0] < 1 or levels[-1] > MAX_USERS:
        raise argparse.ArgumentTypeError(f"levels must be between 1 and {MAX_USERS}")
    return levels


def _configs(raw: str) -> List[str]:
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [key for key in keys if key not in LABELS]
    if not keys or unknown:
        raise argparse.ArgumentTypeError(f"configurations are among {', '.join(LABELS)}; got {raw!r}")
    return sorted(set(keys), key=list(LABELS).index)


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {raw!r}") from None
    if not 1 <= value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"seconds must be between 1 and {MAX_SECONDS}")
    return value


def _pause(raw: str) -> Tuple[float, float]:
    try:
        low, high = (float(part) for part in raw.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN,MAX seconds, got {raw!r}") from None
    if not 0 <= low <= high <= 600:
        raise argparse.ArgumentTypeError("pause must satisfy 0 ≤ MIN ≤ MAX ≤ 600")
    return low, high


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Simulated policyholders over HTTP against (a) the embedded default, (b)/(c) the "
        "production topology with 1/2 replicas and (d) Rasa's starter bot; writes "
        "bench/results/<date>.md, .png and .json. Defaults take about 16 minutes on 2 cores, without training.",
    )
    p.add_argument(
        "--configs", type=_configs, default=_configs("a,b,c,d"), help="which configurations, e.g. a,d (default a,b,c,d)"
    )
    p.add_argument(
        "--levels",
        type=_users,
        default=_users("1,4,12"),
        help="concurrent users without pauses, e.g. 1,2,4,8,16 (default 1,4,12)",
    )
    p.add_argument("--seconds", type=_seconds, default=15.0, help="seconds per level (default 15)")
    p.add_argument(
        "--blocks",
        type=int,
        default=3,
        choices=range(1, 11),
        metavar="1-10",
        help="blocks per closed-loop level, alternating with the starter bot's (default 3)",
    )
    p.add_argument(
        "--paced-levels",
        type=_users,
        default=_users("80,160,240"),
        help="concurrent conversations with pauses (default 80,160,240; stops at the first " "level past p95 500 ms)",
    )
    p.add_argument("--paced-seconds", type=_seconds, default=45.0, help="seconds per paced level (default 45)")
    p.add_argument(
        "--paced-on", type=_configs, default=_configs("c"), help="configurations that get the paced levels (default c)"
    )
    p.add_argument("--no-paced", action="store_true", help="skip the paced levels")
    p.add_argument(
        "--pause",
        type=_pause,
        default=(5.0, 15.0),
        help="MIN,MAX seconds users wait between messages when paced (default 5,15)",
    )
    p.add_argument(
        "--parse-rounds",
        type=int,
        default=3,
        choices=range(1, 21),
        metavar="1-20",
        help="rounds of the NLU-floor messages (default 3)",
    )
    p.add_argument(
        "--long-turns",
        type=int,
        default=60,
        choices=range(0, 501),
        metavar="0-500",
        help="turns of one long conversation, to see a turn's cost grow with the tracker " "(default 60, 0 skips)",
    )
    p.add_argument(
        "--train", action="store_true", help="measure a fresh `rasa train` of this bot and benchmark that model"
    )
    p.add_argument(
        "--starter-project",
        type=Path,
        help="reuse a starter bot trained earlier (a `rasa init` directory) instead of training one",
    )
    p.add_argument("--output", type=Path, default=RESULTS, help="where results go (default bench/results)")
    p.add_argument("--name", help="file name stem (default: today's date)")
    p.add_argument("--note", default="", help="a sentence for the report, e.g. what else ran on the machine")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, starter bot)")
    return p


def stem_for(directory: Path, name: Optional[str]) -> str:
    if name:
        return name
    stem = time.strftime("%Y-%m-%d")
    candidate, number = stem, 2
    while (directory / f"{candidate}.md").exists():
        candidate, number = f"{stem}-{number}", number + 1
    return candidate


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    options = Options(
        configs=args.configs,
        levels=args.levels,
        seconds=args.seconds,
        paced_levels=args.paced_levels,
        paced_seconds=args.paced_seconds,
        paced_on=[] if args.no_paced else [key for key in args.paced_on if key in args.configs],
        pause=args.pause,
        parse_rounds=args.parse_rounds,
        long_turns=args.long_turns,
        train=args.train,
        starter_project=args.starter_project.resolve() if args.starter_project else None,
        keep=args.keep,
        blocks=args.blocks,
    )
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    results, trainings = run(options)
    stem = stem_for(args.output, args.name)
    written = report.write(
        args.output, stem, results, options, machine.describe(), trainings, started, command.strip(), args.note
    )
    print(f"\nReport: {written}\n")
    print(written.read_text(encoding="utf-8"))
    failed = [r for r in results if r.tickets is not None and not r.tickets.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
