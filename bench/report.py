"""The results: a Markdown report, a PNG chart and the raw figures as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

from bench.benchmark import ConfigResult, Options
from bench.load import LevelResult
from bench.machine import HARNESS
from bench.stats import Check, capacity, growth, ratio, saturation, summarize, verdict

MIB = 2**20
RASA_PROCESS_LIMIT = 1.5e9  # bytes: "≤ 1.5 GB per Rasa process"
BUSY_SHARE = 0.10  # other processes using more than this share of the cores: a busy machine

# What the issue measured for the starter bot on this kind of machine.
STARTER_REFERENCE = "warm p50 ≈ 40 ms, saturation ≈ 30–35 turns/s, ≈ 1.1 GB per Rasa process"


def _ms(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.0f}"


def _x(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _mib(value: Optional[int]) -> str:
    return "—" if not value else f"{value / MIB:.0f}"


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _starter(results: List[ConfigResult]) -> Optional[ConfigResult]:
    return next((r for r in results if r.key == "d" and r.measured), None)


def rasa_peaks(result: ConfigResult) -> Dict[str, int]:
    """Peak RSS of each Rasa server process (replicas, and Sanic workers if forked)."""
    return {name: rss for name, rss in result.peak_memory.items() if name.split("/")[0].startswith("rasa")}


def starter_levels(result: ConfigResult, starter: Optional[ConfigResult]) -> Dict[int, LevelResult]:
    """The starter bot's closed-loop levels to compare `result` with: those run in
    blocks alternating with its levels when there are some, else the starter's own run."""
    if result.starter_closed:
        return result.starter_closed
    return starter.closed if starter else {}


def servers_cpu(parts: Dict[str, float]) -> float:
    """CPU ms per turn of everything but the load generator."""
    return sum(ms for group, ms in parts.items() if group != HARNESS)


def other_load_share(results: List[ConfigResult]) -> Optional[float]:
    shares = [share for r in results for share in r.other_load.values() if share is not None]
    return max(shares) if shares else None


def checks(results: List[ConfigResult], options: Options) -> List[Check]:
    starter = _starter(results)
    found: List[Check] = []
    base_p50 = starter.closed[1].summary.p50_ms if starter and 1 in starter.closed else None
    for result in results:
        if result.key == "d" or not result.measured:
            continue
        name = result.label
        if result.paired:
            p50, base = (summarize(turns, 1).p50_ms for turns in result.paired)
            how = "turns alternating with the starter bot"
        else:
            p50 = result.closed[1].summary.p50_ms if 1 in result.closed else None
            base, how = base_p50, "1 user, measured separately"
        r = ratio(p50, base)
        found.append(
            Check(
                f"{name}: warm single-conversation p50 ≤ 1.3 × starter",
                f"{_ms(p50)} ms vs {_ms(base)} ms = {_x(r)} ({how})",
                None if r is None else r <= 1.3,
            )
        )
        sat = saturation({n: level.summary for n, level in result.closed.items()})
        base_sat = saturation({n: level.summary for n, level in starter_levels(result, starter).items()})
        how = "starter in alternate blocks" if result.starter_closed else "starter measured separately"
        if sat and base_sat:
            found.append(
                Check(
                    f"{name}: saturation throughput ≥ starter",
                    f"{sat[1]:.1f} turns/s (at {sat[0]} users) vs {base_sat[1]:.1f} "
                    f"(at {base_sat[0]}) = {_x(ratio(sat[1], base_sat[1]))} ({how})",
                    sat[1] >= base_sat[1],
                )
            )
        else:
            found.append(Check(f"{name}: saturation throughput ≥ starter", "—", None))
        peaks = rasa_peaks(result)
        if peaks:
            top = max(peaks.values())
            found.append(
                Check(
                    f"{name}: memory per Rasa process ≤ 1.5 GB",
                    f"max {top / MIB:.0f} MiB over {len(peaks)} process(es)",
                    top <= RASA_PROCESS_LIMIT,
                )
            )
        if result.tickets is not None:
            t = result.tickets
            found.append(
                Check(
                    f"{name}: zero lost or duplicated tickets",
                    f"expected {t.expected}, written {t.written}, missing {len(t.missing)}, "
                    f"duplicated {len(t.duplicates)}",
                    t.ok,
                )
            )
        if result.paced:
            held = capacity({n: level.summary for n, level in result.paced.items()}, options.p95_limit_ms)
            tried = ", ".join(str(n) for n in sorted(result.paced))
            if held is None:
                text = f"fewer than {min(result.paced)}"
            elif held == max(result.paced):
                text = f"at least {held} (every level tried held)"
            else:
                text = str(held)
            found.append(
                Check(
                    f"{name}: concurrent conversations with p95 ≤ {options.p95_limit_ms:.0f} ms "
                    f"(pauses {options.pause[0]:g}–{options.pause[1]:g} s)",
                    f"{text} (levels tried: {tried})",
                    None,
                )
            )
    return found


def markdown(
    results: List[ConfigResult],
    options: Options,
    machine: Dict[str, str],
    trainings: Dict[str, str],
    started: str,
    command: str,
    note: str,
    chart: Optional[str],
) -> str:
    starter = _starter(results)
    lines: List[str] = [f"# Benchmark, {started}", ""]
    lines += [f"Command: `{command}`", ""]
    lines += ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in machine.items()]
    share = other_load_share(results)
    busy = share is not None and share > BUSY_SHARE
    load_text = "—" if share is None else f"{share:.0%} of all cores at most, in one load level"
    lines += [f"| other load during the measurements | {load_text} |", ""]
    if busy:
        lines += [
            "**The machine was busy**: other processes (not this benchmark or its servers) used "
            f"up to {share:.0%} of the cores while it measured, so latencies are higher and "
            "throughputs lower than on an idle machine. Ratios to the starter bot, measured in the "
            "same run, are the more reliable figures.",
            "",
        ]
    if note:
        lines += [f"Note: {note}", ""]

    lines += [
        "## Load",
        "",
        f"- Closed loop: N simulated policyholders, each sending its next message as soon as the "
        f"answer arrives, {options.seconds:g} s per level; levels {', '.join(map(str, options.levels))}.",
        f"- Paced: users wait {options.pause[0]:g}–{options.pause[1]:g} s between messages, "
        f"{options.paced_seconds:g} s per level, on "
        f"{', '.join(labels_of(options.paced_on, results)) or 'no configuration'}.",
        "- This bot's conversations: complaint intake to ticket (with a material question mid-form), "
        "claim materials, ticket status check (phone verified), handoff with nobody at the desk "
        "(message left, callback ticket). The starter bot's: greet/mood/bot-challenge/goodbye paths "
        "of about the same number of turns. A turn is one `POST /webhooks/rest/webhook`, timed "
        "until the whole answer arrived; every user has its own sender id.",
        "- Warm-up (every script once) and the NLU floor come before the levels and are not in them.",
        "",
    ]

    if any(r.paired for r in results):
        lines += [
            "## Warm single conversation, turn by turn against the starter bot",
            "",
            "One user on this bot and one on the starter bot (both servers up, the starter idle "
            "otherwise), one turn on each in turn, never both at once: both see the same background "
            "load, so the ratio holds on a busy machine.",
            "",
            "| configuration | turns | p50 ms | p95 ms | starter turns | starter p50 ms | starter p95 ms "
            "| p50 × starter | p95 × starter |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for result in results:
            if result.paired:
                ours, theirs = (summarize(turns, 1) for turns in result.paired)
                lines.append(
                    f"| {result.label} | {ours.turns} | {_ms(ours.p50_ms)} | {_ms(ours.p95_ms)} | "
                    f"{theirs.turns} | {_ms(theirs.p50_ms)} | {_ms(theirs.p95_ms)} | "
                    f"{_x(ratio(ours.p50_ms, theirs.p50_ms))} | {_x(ratio(ours.p95_ms, theirs.p95_ms))} |"
                )
        lines.append("")

    lines += [
        "## Latency and throughput (closed loop)",
        "",
        f"Where this bot's configurations ran with the starter bot up, each level ran in "
        f"{options.blocks} blocks alternating with the starter bot's at the same level; the × starter "
        "columns compare with those blocks (the machine's speed drifts by 10–30 % over minutes). "
        "The starter bot's own rows are its run on its own.",
        "",
        "| configuration | users | turns | errors | p50 ms | p95 ms | p99 ms | turns/s | p50 × starter "
        "| p95 × starter | turns/s × starter |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        if not result.measured:
            continue
        paired = starter_levels(result, starter)
        for users, level in sorted(result.closed.items()):
            s = level.summary
            base = paired[users].summary if users in paired else None
            lines.append(
                f"| {result.label} | {users} | {s.turns} | {s.errors} | {_ms(s.p50_ms)} | {_ms(s.p95_ms)} | "
                f"{_ms(s.p99_ms)} | {s.throughput:.1f} | {_x(ratio(s.p50_ms, base and base.p50_ms))} | "
                f"{_x(ratio(s.p95_ms, base and base.p95_ms))} | {_x(ratio(s.throughput, base and base.throughput))} |"
            )
    lines.append("")
    if chart:
        lines += [f"![latency and throughput vs concurrency]({chart})", ""]

    if any(r.cpu_per_turn for r in results):
        lines += [
            "## CPU per turn, by process (closed loop, the highest level)",
            "",
            "CPU time each process used during the level, divided by the turns answered: the servers "
            "the configuration started (with their child processes), the shared PostgreSQL, Redis and "
            "RabbitMQ (found by name; idle unless the configuration uses them), and the load generator. "
            "On 2 cores the servers' total bounds the saturation throughput.",
            "",
            "| configuration | users | servers' CPU ms per turn | × starter | by process (ms per turn) "
            "| load generator |",
            "|---|---:|---:|---:|---|---:|",
        ]
        for result in results:
            levels = [users for users in sorted(result.closed) if f"n{users}" in result.cpu_per_turn]
            if not levels:
                continue
            users = levels[-1]
            parts = result.cpu_per_turn[f"n{users}"]
            total = servers_cpu(parts)
            theirs = result.starter_cpu_per_turn.get(f"n{users}") or (
                starter.cpu_per_turn.get(f"n{users}") if starter else None
            )
            starter_total = servers_cpu(theirs) if theirs else None
            by_process = ", ".join(
                f"{group} {ms:.1f}"
                for group, ms in sorted(parts.items(), key=lambda kv: -kv[1])
                if group != HARNESS and ms >= 0.05
            )
            lines.append(
                f"| {result.label} | {users} | {total:.1f} | {_x(ratio(total, starter_total))} | "
                f"{by_process} | {parts.get(HARNESS, 0.0):.1f} |"
            )
        lines.append("")

    if any(r.paced for r in results):
        lines += [
            "## Realistic pauses (paced)",
            "",
            "| configuration | conversations | turns | errors | p50 ms | p95 ms | p99 ms | turns/s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for result in results:
            for users, level in sorted(result.paced.items()):
                s = level.summary
                lines.append(
                    f"| {result.label} | {users} | {s.turns} | {s.errors} | {_ms(s.p50_ms)} | "
                    f"{_ms(s.p95_ms)} | {_ms(s.p99_ms)} | {s.throughput:.1f} |"
                )
        lines.append("")

    lines += [
        "## NLU floor (`POST /model/parse`, one at a time)",
        "",
        "| configuration | requests | p50 ms | p95 ms | p50 × starter |",
        "|---|---:|---:|---:|---:|",
    ]
    for result in results:
        if result.floor:
            f = result.floor
            base = starter.floor.p50_ms if starter and starter.floor else None
            lines.append(
                f"| {result.label} | {f.turns} | {_ms(f.p50_ms)} | {_ms(f.p95_ms)} | " f"{_x(ratio(f.p50_ms, base))} |"
            )
    lines.append("")

    if any(r.long for r in results):
        lines += [
            "## A growing conversation (1 user, one conversation)",
            "",
            "A turn loads the conversation's tracker and saves it again; this shows whether that cost "
            "grows with the conversation's length.",
            "",
            "| configuration | turns | p50 of turns 1–10 ms | p50 of the last 10 ms | growth |",
            "|---|---:|---:|---:|---:|",
        ]
        for result in results:
            if result.long:
                found = growth(result.long)
                first, last = found if found else (None, None)
                lines.append(
                    f"| {result.label} | {sum(1 for t in result.long if t.ok)} | {_ms(first)} | "
                    f"{_ms(last)} | {_x(ratio(last, first))} |"
                )
        lines.append("")

    lines += [
        "## Memory (resident, MiB)",
        "",
        "| configuration | process | after start | peak | peak × starter's Rasa |",
        "|---|---|---:|---:|---:|",
    ]
    starter_peak = max(rasa_peaks(starter).values()) if starter and rasa_peaks(starter) else None
    for result in results:
        for name in sorted(result.peak_memory):
            peak = result.peak_memory[name]
            lines.append(
                f"| {result.label} | {name} | {_mib(result.idle_memory.get(name))} | {_mib(peak)} | "
                f"{_x(ratio(peak, starter_peak)) if name.split('/')[0].startswith('rasa') else ''} |"
            )
    lines.append("")

    lines += ["## Training", "", "| configuration | time | × starter | how |", "|---|---:|---:|---|"]
    starter_seconds = starter.training.seconds if starter and starter.training else None
    seen = set()
    for result in results:
        if not result.training or result.training.model in seen:
            continue
        seen.add(result.training.model)
        label = "starter bot" if result.key == "d" else "this bot"
        lines.append(
            f"| {label} | {_duration(result.training.seconds)} | "
            f"{_x(ratio(result.training.seconds, starter_seconds))} | {result.training.note} |"
        )
    lines.append("")

    lines += [
        "## Tickets",
        "",
        "| configuration | expected | written | missing | duplicated | wrong number | unexpected | "
        "answer lost (written?) | no number quoted |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        t = result.tickets
        if t is not None:
            lines.append(
                f"| {result.label} | {t.expected} | {t.written} | {len(t.missing)} | {len(t.duplicates)} | "
                f"{len(t.mismatched)} | {len(t.unexpected)} | {len(t.unanswered)} "
                f"({t.unanswered_written}) | {len(t.unquoted)} |"
            )
    lines.append("")

    lines += [
        "## Targets",
        "",
        f"Starter bot on this kind of machine, per the issue: {STARTER_REFERENCE}.",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    for check in checks(results, options):
        lines.append(
            f"| {check.target} | {check.measured} | "
            f"{'reported' if check.met is None and check.measured != '—' else verdict(check.met)} |"
        )
    lines.append("")

    lines += [
        "## Where the time goes (1 user, per script)",
        "",
        "| configuration | script | turns | p50 ms | p95 ms |",
        "|---|---|---:|---:|---:|",
    ]
    for result in results:
        level = result.closed.get(1)
        if level is None:
            continue
        for script, data in level.as_dict()["by_script"].items():  # type: ignore[union-attr]
            lines.append(
                f"| {result.label} | {script} | {data['turns']} | {_ms(data['p50_ms'])} | " f"{_ms(data['p95_ms'])} |"
            )
    lines.append("")

    lines += ["## Conversations and failures", ""]
    for result in results:
        if result.failure:
            lines += [f"- {result.label}: {result.failure.splitlines()[0]}"]
            continue
        counts: Dict[str, int] = {}
        samples: List[str] = []
        for level in [*result.closed.values(), *result.paced.values()]:
            for by_script in level.conversations.values():
                for key, value in by_script.items():
                    counts[key] = counts.get(key, 0) + value
            samples += level.samples
        summary = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
        lines.append(f"- {result.label} ({'; '.join(result.notes)}): {summary}")
        lines += [f"  - {sample}" for sample in samples[:5]]
    lines += ["", "Training of each bot: " + "; ".join(f"{k}: {v}" for k, v in trainings.items()), ""]
    return "\n".join(lines)


def labels_of(keys: List[str], results: List[ConfigResult]) -> List[str]:
    return [r.label for r in results if r.key in keys]


def chart(results: List[ConfigResult], path: Path, title: str) -> bool:
    """Latency (p50 solid, p95 dashed) and throughput vs concurrency, one colour per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r for r in results if r.measured]
    if not measured:
        return False
    paced = [r for r in measured if r.paced]
    panels = 3 if paced else 2
    figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.4))
    colours = {"a": "tab:blue", "b": "tab:orange", "c": "tab:green", "d": "tab:gray"}
    for result in measured:
        users = sorted(result.closed)
        summaries = [result.closed[n].summary for n in users]
        colour = colours.get(result.key)
        axes[0].plot(users, [s.p50_ms for s in summaries], "o-", color=colour, label=f"{result.label} p50")
        axes[0].plot(users, [s.p95_ms for s in summaries], "o--", color=colour, alpha=0.7, label=f"{result.label} p95")
        axes[1].plot(users, [s.throughput for s in summaries], "o-", color=colour, label=result.label)
    axes[0].set(
        xscale="log",
        yscale="log",
        xlabel="concurrent users (no pauses)",
        ylabel="turn latency (ms)",
        title="Latency vs concurrency",
    )
    axes[1].set(xscale="log", xlabel="concurrent users (no pauses)", ylabel="turns/s", title="Throughput")
    for axis in axes[:2]:
        axis.set_xticks(sorted({n for r in measured for n in r.closed}))
        axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    if paced:
        for result in paced:
            users = sorted(result.paced)
            axes[2].plot(
                users,
                [result.paced[n].summary.p95_ms for n in users],
                "o-",
                color=colours.get(result.key),
                label=f"{result.label} p95",
            )
        axes[2].axhline(500, color="red", linestyle=":", label="500 ms")
        axes[2].set(
            xlabel="concurrent conversations (5–15 s pauses)",
            ylabel="p95 turn latency (ms)",
            title="With realistic pauses",
        )
        axes[2].grid(True, alpha=0.3)
        axes[2].legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def raw(
    results: List[ConfigResult],
    options: Options,
    machine: Dict[str, str],
    trainings: Dict[str, str],
    started: str,
    command: str,
) -> str:
    def config(result: ConfigResult) -> Dict[str, object]:
        return {
            "label": result.label,
            "name": result.name,
            "failure": result.failure,
            "notes": result.notes,
            "training_seconds": result.training.seconds if result.training else None,
            "idle_memory_bytes": result.idle_memory,
            "peak_memory_bytes": result.peak_memory,
            "nlu_floor": result.floor.as_dict() if result.floor else None,
            "long_conversation_ms": [round(t.latency * 1000, 1) if t.ok else None for t in result.long],
            "paired": None
            if result.paired is None
            else {
                "this_bot": summarize(result.paired[0], 1).as_dict(),
                "starter": summarize(result.paired[1], 1).as_dict(),
            },
            "warm_up": result.warm_up.as_dict() if result.warm_up else None,
            "closed": {str(n): level.as_dict() for n, level in result.closed.items()},
            "paced": {str(n): level.as_dict() for n, level in result.paced.items()},
            "other_load_share": result.other_load,
            "cpu_ms_per_turn": result.cpu_per_turn,
            "starter_alternating": {str(n): level.as_dict() for n, level in result.starter_closed.items()},
            "starter_alternating_cpu_ms_per_turn": result.starter_cpu_per_turn,
            "tickets": result.tickets.as_dict() if result.tickets else None,
        }

    return json.dumps(
        {
            "started": started,
            "command": command,
            "machine": machine,
            "trainings": trainings,
            "options": {
                key: (str(value) if isinstance(value, Path) else value) for key, value in vars(options).items()
            },
            "configurations": {r.key: config(r) for r in results},
            "checks": [vars(c) for c in checks(results, options)],
        },
        ensure_ascii=False,
        indent=1,
    )


def write(
    directory: Path,
    stem: str,
    results: List[ConfigResult],
    options: Options,
    machine: Dict[str, str],
    trainings: Dict[str, str],
    started: str,
    command: str,
    note: str,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / f"{stem}.png"
    has_chart = chart(results, png, f"{started} · {machine['cpu']} · {machine['cores']} cores")
    report = directory / f"{stem}.md"
    report.write_text(
        markdown(results, options, machine, trainings, started, command, note, png.name if has_chart else None),
        encoding="utf-8",
    )
    (directory / f"{stem}.json").write_text(
        raw(results, options, machine, trainings, started, command), encoding="utf-8"
    )
    return report
