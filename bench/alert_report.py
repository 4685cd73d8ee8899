"""The Markdown of ``alerts.py``: one function per table, and the targets."""

import argparse
import math
from collections import Counter

from alert_checks import Run
from alert_storm import Post
from common import cpu_cell, machine_table, percentile, server_log, skipped_row, verdict

TARGET_DM_P99_S = 0.25  # issue 22: against a Slack that answers at once …
TARGET_DM_P99_SLOW_SLACK_S = 1.5  # … and against one taking 50 ms a call (``--slack-latency``)
PHASES = ("healthz", "storm", "replay")
LABELS = {
    "healthz": "`GET /healthz` (baseline)",
    "storm": "**the storm: alerts paged**",
    "replay": "the storm again, every alert open (dedup baseline)",
}


def _slowest_if_missing(values: list[float], p: float) -> float:
    """Nearest rank, as the other benchmarks; of 10 values, p99 is the largest."""
    if any(math.isnan(v) for v in values):
        return math.inf  # a DM that never came is slower than any
    return percentile(values, p)


def dm_figures(run: Run) -> dict[str, float]:
    after = [d.dm_after_ms for d in run.deliveries]
    answer = [d.first_answer_ms for d in run.deliveries]
    courier = [round(d.dm_after_ms - d.first_answer_ms, 2) for d in run.deliveries]
    return {
        "p50_ms": _slowest_if_missing(after, 50),
        "p95_ms": _slowest_if_missing(after, 95),
        "p99_ms": _slowest_if_missing(after, 99),
        "max_ms": max(after) if after and not any(math.isnan(a) for a in after) else math.inf,
        "answer_p50_ms": _slowest_if_missing(answer, 50),
        "answer_max_ms": _slowest_if_missing(answer, 100),
        "after_answer_p50_ms": _slowest_if_missing(courier, 50),
        "after_answer_max_ms": _slowest_if_missing(courier, 100),
    }


def _ms(x: float) -> str:
    return "never" if math.isinf(x) else f"{x:.0f}"


def markdown(
    runs: list[Run],
    box: dict[str, str],
    args: argparse.Namespace,
    posts: list[Post],
) -> str:
    out = machine_table(box)
    out += _load(args, posts)
    out += _answers_table(runs, args)
    out += _added_table(runs, args)
    out += _dm_table(runs, args)
    out += _checked_table(runs)
    out += _targets(runs, args)
    out += server_log(runs)
    return "\n".join(out)


def _load(args: argparse.Namespace, posts: list[Post]) -> list[str]:
    """What was sent, how paced, and the baselines beside it."""
    alerts = sum(len(p.fingerprints) for p in posts)
    sizes = Counter(len(p.fingerprints) for p in posts)
    onset = (
        f"the fingerprints start firing one after the other over the first {args.onset:g} s"
        if args.onset
        else "all fingerprints fire from the start, so every group's first POST carries all its "
        "alerts (as Alertmanager's `group_wait` batches them)"
    )
    return [
        "",
        f"**Load**: {alerts} Alertmanager alerts over {args.fingerprints} fingerprints in "
        f"{args.groups} groups, in {len(posts)} POSTs of one group each "
        f"({', '.join(f'{n}×{size}' for size, n in sorted(sizes.items()))} alerts), paced to "
        f"{alerts / args.seconds:.0f} alerts/s over {args.seconds:g} s from {args.senders} "
        f"concurrent senders (open loop, one `requests.Session` each, each POST leaving at its "
        f"scheduled time); the groups in turn, each POST carrying every alert of its group "
        f"firing by then — {onset}. Client and server on the same machine over loopback; the "
        "fake Slack answers at once"
        + (f" after {args.slack_latency:g} ms per call (a what-if)" if args.slack_latency else "")
        + ". The baselines: the same number of requests on the same schedule from the same "
        "senders, in the same run.",
    ]


def _answers_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    out = [
        "",
        "**Webhook answers** — time from POST to answer, ms (CPU: per request, of `andon serve` · "
        "of PostgreSQL · of this client)",
        "",
        "| database | request | requests | alerts | not ok | POSTs/s | start lag p99 / max | "
        "p50 | p99 | max | CPU ms | all sent within the window |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for run in runs:
        if run.skipped:
            out.append(skipped_row(run.database, run.skipped, 12))
            continue
        for name in PHASES:
            s = run.phases[name].summary(args.seconds)
            out.append(
                f"| {run.database} | {LABELS[name]} | {s['requests']} | {s['alerts'] or '–'} | "
                f"{s['not_ok']} | {s['sent_per_s']:.0f} | {s['start_lag_p99_ms']:.1f} / "
                f"{s['start_lag_max_ms']:.1f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | "
                f"{s['max_ms']:.1f} | {cpu_cell(s)} | "
                f"{'yes' if s['sent_in_window'] else 'NO'} ({s['last_left_s']:.2f} s) |"
            )
    return out


def _added_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """storm − each baseline: what opening pages adds to a webhook's answer."""
    out = [
        "",
        "**What paging adds to the answer** (storm − baseline, ms)",
        "",
        "| database | p50 − replay | p99 − replay | p50 − healthz | p99 − healthz | "
        "andon CPU − replay |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        if run.skipped:
            continue
        st, rp, hz = (run.phases[n].summary(args.seconds) for n in ("storm", "replay", "healthz"))
        cpu = st["cpu_ms_per_request"]["andon"] - rp["cpu_ms_per_request"]["andon"]
        out.append(
            f"| {run.database} | {st['p50_ms'] - rp['p50_ms']:+.1f} | "
            f"{st['p99_ms'] - rp['p99_ms']:+.1f} | {st['p50_ms'] - hz['p50_ms']:+.1f} | "
            f"{st['p99_ms'] - hz['p99_ms']:+.1f} | {cpu:+.2f} |"
        )
    return out


def _dm_table(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """From each group's first POST to its page's DM, and the split at the POST's answer."""
    out = [
        "",
        "**From a group's first POST to its page's DM at the fake Slack**, ms (one value per "
        f"group, nearest rank: of {args.groups}, p99 is the largest; the split: the "
        "first POST's own answer, and from that answer to the DM)",
        "",
        "| database | DMs | p50 | p95 | p99 | max | first POST → answer p50 / max | "
        "answer → DM p50 / max | DMs arrived, s after the storm's start | all posts to Slack "
        "(DMs and channel): how many, s after the start | line-stopped announcement |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        if run.skipped or not run.deliveries:
            continue
        f = dm_figures(run)
        first, last = run.dm_span_s
        count, begun, ended = run.messages
        c = run.checks
        announced = f"{c.announced_after_ms:.0f} ms" if c else "?"
        out.append(
            f"| {run.database} | {sum(d.dms > 0 for d in run.deliveries)}/{len(run.deliveries)} "
            f"| {_ms(f['p50_ms'])} | {_ms(f['p95_ms'])} | {_ms(f['p99_ms'])} | "
            f"{_ms(f['max_ms'])} | {_ms(f['answer_p50_ms'])} / {_ms(f['answer_max_ms'])} | "
            f"{_ms(f['after_answer_p50_ms'])} / {_ms(f['after_answer_max_ms'])} | "
            f"{first:.2f} – {last:.2f} | {count}: {begun:.2f} – {ended:.2f} | {announced} |"
        )
    return out


def _checked_table(runs: list[Run]) -> list[str]:
    out = [
        "",
        "**Checked** (pages from `GET /api/pages`; DMs and channel posts at the fake Slack)",
        "",
        "| database | pages | page DMs | fingerprints on one page / groups with one DM | "
        "paged, by the answers | paged by the replay | on call | line | stoppages / causes | "
        "announcement / cause replies | result |",
        "|---|--:|--:|--:|--:|--:|---|---|--:|--:|---|",
    ]
    for run in runs:
        c = run.checks
        if c is None:
            continue
        one_page = sum(v == 1 for v in c.pages_by_fingerprint.values())
        one_dm = sum(d.dms == 1 for d in run.deliveries)
        out.append(
            f"| {run.database} | {c.pages} | {c.page_dms} | {one_page} / {one_dm} | "
            f"{c.answered_paged} | {c.replay_paged} | {', '.join(c.oncall)} | {c.line_state} | "
            f"{c.stoppages} / {c.causes} | {c.announcements} / {c.cause_replies} | "
            f"{verdict(c.problems)} |"
        )
    return out


def target_dm_s(args: argparse.Namespace) -> float:
    """Issue 22's target for the DM's p99: the fake Slack at once, or slowed down."""
    return TARGET_DM_P99_SLOW_SLACK_S if args.slack_latency else TARGET_DM_P99_S


def _targets(runs: list[Run], args: argparse.Namespace) -> list[str]:
    target = target_dm_s(args)
    slack = f" (Slack {args.slack_latency:g} ms a call)" if args.slack_latency else ""
    out = [
        "",
        f"**Targets**: exactly {args.groups} pages, one per group; p99 from a group's first POST "
        f"to its DM at most {target * 1000:,.0f} ms{slack}. Beside it: that p99 over "
        "`/healthz`'s p99 in the same run.",
        "",
    ]
    for run in runs:
        if run.skipped or run.checks is None:
            continue
        c = run.checks
        met = "met" if c.pages == args.groups == c.page_dms else "MISSED"
        out.append(f"- {run.database}: {c.pages} pages, {c.page_dms} page DMs — {met}")
        p99 = dm_figures(run)["p99_ms"]
        met = "met" if p99 <= target * 1000 else "MISSED"
        healthz = run.phases["healthz"].summary(args.seconds)["p99_ms"]
        ratio = f"{p99 / healthz:.0f}× `/healthz` p99 {healthz:.1f} ms" if healthz else "–"
        out.append(f"- {run.database}: first POST to DM p99 {_ms(p99)} ms ({ratio}) — {met}")
    return out
