"""The Markdown of ``ci_ingest.py``: one function per table, and the targets."""

import argparse

from ci_checks import Run
from ci_deliveries import KINDS
from clients import Sample
from common import cpu_cell, machine_table, server_log, skipped_row, verdict

TARGET_RESULTS_PER_S = 300.0
TARGET_PACED_P99_MS = 50.0
LABELS = {
    "healthz": "`GET /healthz` (baseline)",
    "rejected": "signed, refused 422 (baseline)",
    "ignored": "GitHub `pull_request` labeled, 202 (baseline)",
    "result": "**generic result, stored**",
}


def markdown(runs: list[Run], box: dict[str, str], args: argparse.Namespace) -> str:
    out = machine_table(box)
    out += _throughput_table(runs, args)
    out += _paced_table(runs, args)
    out += _added_table(runs, args)
    out += _stored_table(runs)
    out += _red_build_table(runs)
    out += _targets(runs, args)
    out += server_log(runs)
    return "\n".join(out)


def _throughput_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    clients = " and ".join(str(c) for c in args.clients)
    out = [
        "",
        "**Load**: client and server on the same machine over loopback; one `requests.Session` "
        f"per client thread. Throughput: {clients} clients sharing {args.results} requests of "
        "each kind, released together, each sending its next request as soon as the last is "
        f"answered. Paced: {args.rate:g} requests/s for {args.seconds:g} s, each sent at its "
        f"scheduled time by whichever of {args.senders} sender threads is free (open loop). "
        "After a warm-up.",
        "",
        "**Throughput** — time from POST to answer, ms (CPU: per request, of `andon serve` · of "
        "PostgreSQL · of this client)",
        "",
        "| database | request | clients | requests | not ok | req/s | p50 | p99 | max | CPU ms |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        if run.skipped:
            out.append(skipped_row(run.database, run.skipped, 10))
            continue
        for s in (x.summary() for x in run.samples):
            out.append(
                f"| {s['database']} | {LABELS[s['request']]} | {s['clients']} | "
                f"{s['requests']} | {s['not_ok']} | {s['requests_per_s']:.0f} | "
                f"{s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} | {cpu_cell(s)} |"
            )
    return out


def _paced_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """The paced phases, then what each process burns idle (their CPU includes it)."""
    out = [
        "",
        f"**Paced at {args.rate:g}/s** — time from POST to answer, ms; start lag: how late a "
        "request left against its schedule",
        "",
        "(CPU per request includes what the processes burn when idle, shown below the table; "
        "the same request costs more CPU paced than back to back, baselines too.)",
        "",
        "| database | request | requests | not ok | sent/s | start lag p99 / max | p50 | p99 | "
        "max | CPU ms | pace held |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for run in runs:
        for s in (p.summary() for p in run.paced):
            out.append(
                f"| {s['database']} | {LABELS[s['request']]} | {s['requests']} | {s['not_ok']} | "
                f"{s['achieved_per_s']:.1f} | {s['start_lag_p99_ms']:.1f} / "
                f"{s['start_lag_max_ms']:.1f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | "
                f"{s['max_ms']:.1f} | {cpu_cell(s)} | {'yes' if s['pace_held'] else 'NO'} |"
            )
    out.append("")
    for run in runs:
        if run.idle_cpu:
            shown = " · ".join(f"{k} {v:.1f} %" for k, v in run.idle_cpu.items())
            out.append(f"- {run.database}, idle for {args.idle:g} s, CPU of one core: {shown}")
    return out


def _added_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """result − each baseline, at each load."""
    out = [
        "",
        "**What storing a result adds** (result − baseline; throughput in req/s, the rest in ms)",
        "",
        "| database | load | result req/s (÷ healthz · ÷ ignored) | p50 − ignored | "
        "p99 − ignored | andon CPU − ignored | andon CPU − rejected |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        for name, kinds in _loads(run, args):
            if all(k in kinds for k in KINDS):
                out.append(_added_row(run.database, name, kinds))
    return out


def _loads(run: Run, args: argparse.Namespace) -> list[tuple[str, dict[str, Sample]]]:
    """Each load's samples by kind: every number of clients, then the paced phase."""
    by = {(s.request, s.clients): s for s in run.samples}
    loads: list[tuple[str, dict[str, Sample]]] = [
        (f"{c} clients", {k: by[(k, c)] for k in KINDS if (k, c) in by}) for c in args.clients
    ]
    loads.append((f"paced {args.rate:g}/s", {p.sample.request: p.sample for p in run.paced}))
    return loads


def _added_row(database: str, name: str, kinds: dict[str, Sample]) -> str:
    r, h, i, j = (kinds[k].summary() for k in ("result", "healthz", "ignored", "rejected"))
    rate = f"{r['requests_per_s']:.0f}"
    if not name.startswith("paced"):
        rate += (
            f" ({r['requests_per_s'] / h['requests_per_s']:.2f} · "
            f"{r['requests_per_s'] / i['requests_per_s']:.2f})"
        )
    cpu_i = r["cpu_ms_per_request"]["andon"] - i["cpu_ms_per_request"]["andon"]
    cpu_j = r["cpu_ms_per_request"]["andon"] - j["cpu_ms_per_request"]["andon"]
    return (
        f"| {database} | {name} | {rate} | {r['p50_ms'] - i['p50_ms']:+.1f} | "
        f"{r['p99_ms'] - i['p99_ms']:+.1f} | {cpu_i:+.2f} | {cpu_j:+.2f} |"
    )


def _stored_table(runs: list[Run]) -> list[str]:
    out = [
        "",
        "**Stored exactly once** (every result's `ci.result` audit row, read back through "
        "`GET /api/audit`)",
        "",
        "| database | phase | sent | answered `recorded` | stored once | lost | doubled |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        if run.stored is None:
            continue
        for phase, c in run.stored.by_phase.items():
            out.append(
                f"| {run.database} | {phase} | {c['sent']} | {c['answered_recorded']} | "
                f"{c['stored_once']} | {c['lost']} | {c['doubled']} |"
            )
    for run in runs:
        st = run.stored
        if st is None:
            continue
        out.append("")
        out.append(
            f"- {run.database}: {st.ignored_audited} of {st.ignored_sent} ignored deliveries "
            f"audited; line {st.line_state}; {st.slack_writes} Slack posts; {verdict(st.problems)}"
        )
    return out


def _red_build_table(runs: list[Run]) -> list[str]:
    out = [
        "",
        "**A red build on `main`, alone** (stored, announced, the line stopped)",
        "",
        "| database | HTTP | POST to answer, ms | POST to announcement in Slack, ms | line | "
        "result |",
        "|---|--:|--:|--:|---|---|",
    ]
    for run in runs:
        red = run.red
        if red is None:
            continue
        out.append(
            f"| {red.database} | {red.status} | {red.latency_ms:.1f} | "
            f"{red.announced_after_ms:.1f} | {red.line_state} | {verdict(red.problems)} |"
        )
    return out


def _targets(runs: list[Run], args: argparse.Namespace) -> list[str]:
    out = [
        "",
        f"**Target**: ≥ {TARGET_RESULTS_PER_S:.0f} results/s on SQLite on 2 cores; p99 under "
        f"{TARGET_PACED_P99_MS:.0f} ms at {args.rate:g} results/s.",
        "",
    ]
    for run in runs:
        for s in run.samples:
            if s.request == "result":
                got = s.summary()["requests_per_s"]
                clean = not (s.wrong or s.failed)
                met = "met" if got >= TARGET_RESULTS_PER_S and clean else "MISSED"
                if run.database != "sqlite":
                    met = "for comparison: the target names SQLite"
                out.append(f"- {run.database}, {s.clients} clients: {got:.0f} results/s — {met}")
        for p in run.paced:
            if p.sample.request == "result":
                s = p.summary()
                clean = not (p.sample.wrong or p.sample.failed) and s["pace_held"]
                met = "met" if s["p99_ms"] < TARGET_PACED_P99_MS and clean else "MISSED"
                out.append(
                    f"- {run.database}, paced {args.rate:g}/s: p99 {s['p99_ms']:.1f} ms — {met}"
                )
    return out
