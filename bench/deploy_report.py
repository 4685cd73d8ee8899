"""The Markdown of ``deploy.py``: one function per table, and the targets."""

import argparse
from statistics import median
from typing import Any

from common import machine_table
from deploy_clocks import ANNOUNCE, UNIT_COMMIT, UNIT_WAIT, UNIT_WORK
from deploy_figures import (
    TARGET_BYTES_RATIO,
    TARGET_BYTES_RATIO_22,
    TARGET_COLD_RATIO,
    TARGET_COLD_S,
    TARGET_RSYNC_RATIO,
    TARGET_WARM_RATIO,
    TARGET_WARM_S,
    WAYS,
    WHAT_IFS,
    Flips,
    Redeploy,
    Rollbacks,
    ms,
)


def _mb(count: float | None) -> str:
    return "–" if count is None else f"{count / 1e6:.3f}"


CALLS = {
    "stage_tree": (
        "`cp -al` of the live release, the changed files unlinked, `tar -xzf -`, the manifest "
        "patched (`awk`) and every file checked (`openssl dgst -sha256`, else `sha256sum -c`), "
        "in one exec channel"
    ),
    "verify": "`sha256sum --quiet -c -` of every file of the release (an exec channel)",
    "unpack": "`tar -xf -` of the changed files and Andon's two (an exec channel)",
    "link_copy": "`cp -al` of the live release (an exec channel)",
    "read_text": "the live release's `.andon-manifest`, over SFTP",
    "remove_files": "unlink the changed files in the copy, one SFTP request each",
    "exists": "SFTP `lstat`",
    "make_dirs": "SFTP `stat`/`mkdir`",
    "read_link": "where `current` points, SFTP",
    "rename": "`.partial` renamed into place, SFTP",
}


def markdown(
    box: dict[str, str],
    args: argparse.Namespace,
    sizes: tuple[int, ...],
    rolls: Rollbacks,
    redeploy: Redeploy,
    flips: list[Flips],
) -> str:
    out = machine_table(box) + _rollbacks_part(args, sizes, rolls)
    out += _redeploy_table(args, redeploy)
    out += _redeploy_notes(redeploy)
    out += _delta_breakdown(redeploy.delta_breakdown)
    out += _atomicity_table(flips)
    out += _targets(max(sizes), rolls, redeploy, flips)
    return "\n".join(out)


def markdown_rollbacks(
    box: dict[str, str],
    args: argparse.Namespace,
    sizes: tuple[int, ...],
    rolls: Rollbacks,
    groups: tuple[tuple[str, ...], ...],
) -> str:
    """``--part rollback`` or ``engine``: the rollbacks' tables and issue 22's two targets."""
    out = machine_table(box) + _rollbacks_part(args, sizes, rolls)
    out += ["", "**Targets of issue 22** (ratios to a baseline of the same run)", ""]
    out += _rollback_ratios(max(sizes), rolls)
    return "\n".join(out)


def _rollbacks_part(
    args: argparse.Namespace, sizes: tuple[int, ...], rolls: Rollbacks
) -> list[str]:
    """The rollbacks' tables, the same in the whole report and in ``--part``'s."""
    out = _rollback_table(args, sizes, rolls)
    out += _request_table(sizes, rolls)
    out += _rollback_breakdown(rolls.breakdown)
    out += _what_if_table(rolls, max(sizes))
    return out


def _hosts_heads(sizes: tuple[int, ...]) -> str:
    return " | ".join(f"{n} host{'s' if n > 1 else ''}" for n in sizes)


def _rollback_table(
    args: argparse.Namespace, sizes: tuple[int, ...], rolls: Rollbacks
) -> list[str]:
    """Every way of rolling back, at every size, against the script's."""
    big = max(sizes)
    out = [
        "",
        f"**Rollback** — time until every host's `current` points at the other release, ms: "
        f"median (max) of {args.reps} rounds; the ways interleaved in each round, in a balanced "
        "order (each group of ways after each other group as often). (b) is timed from "
        "`Andon.execute` to the end of the deployer's thread"
        + ("." if args.line_left_stopped else ", each meeting a running line."),
        "",
        f"| way | {_hosts_heads(sizes)} | faster than the baseline, {big} hosts |",
        "|---|" + "--:|" * (len(sizes) + 1),
    ]
    base = ms(rolls.seconds["script", big]) if rolls.seconds.get(("script", big)) else None
    for name, label in WAYS:
        if not rolls.seconds.get((name, big)):
            continue
        cells = [
            f"{ms(rolls.seconds[name, n]):.1f} ({ms(rolls.seconds[name, n], max):.1f})"
            for n in sizes
        ]
        ratio = "–"
        if name != "script" and base is not None:
            ratio = f"{base / ms(rolls.seconds[name, big]):.1f}×"
        out.append(f"| {label} | {' | '.join(cells)} | {ratio} |")
    return out


def _request_table(sizes: tuple[int, ...], rolls: Rollbacks) -> list[str]:
    """(b)'s request alone: what the person typing ``/rollback`` waits for."""
    out = [
        "",
        "(b)'s request alone — `Andon.execute` of the `/rollback`, until it answers, ms: median",
        "",
        f"| | {_hosts_heads(sizes)} |",
        "|---|" + "--:|" * len(sizes),
    ]
    for name in ("engine_cold", "engine_warm"):
        cells = [f"{ms(rolls.request_s[name, n]):.1f}" for n in sizes]
        out.append(f"| {name.replace('_', ', ')} | {' | '.join(cells)} |")
    return out


def _rollback_breakdown(b: dict[str, Any]) -> list[str]:
    """Where the clocked warm rollback spent its time, the units of work first."""
    out = [
        "",
        f"**Where a warm rollback of {b['hosts']} hosts through the engine spends its time** "
        f"(one more run, clocked: {b['total_s'] * 1000:.1f} ms in all, "
        f"{b['request_s'] * 1000:.1f} ms of it the request; sums over every thread)",
        "",
        "| what | calls | sum ms | max ms |",
        "|---|--:|--:|--:|",
    ]
    first = (UNIT_WAIT, UNIT_WORK, ANNOUNCE, UNIT_COMMIT)
    rest = sorted((n for n in b["spans"] if n not in first), key=lambda n: -b["spans"][n][1])
    for name in (*first, *rest):
        if name in b["spans"]:
            calls, total, longest = b["spans"][name]
            out.append(f"| {name} | {calls} | {total * 1000:.1f} | {longest * 1000:.1f} |")
    serial = sum(b["spans"].get(name, [0, 0.0])[1] for name in (UNIT_WORK, UNIT_COMMIT))
    units = b["spans"].get(UNIT_WORK, [0])[0]
    out += [
        "",
        f"The {units} units of work run one at a time (SQLite's one writer; the deploy's threads "
        f"queue on the in-process writer lock): their statements and commits alone add up to "
        f"{serial * 1000:.0f} of the {b['total_s'] * 1000:.0f} ms.",
    ]
    return out


def _what_if_table(rolls: Rollbacks, big: int) -> list[str]:
    out = [
        "",
        f"**What-if** — the same warm rollback of {big} hosts with one part of the engine "
        f"switched off by the benchmark (not Andon's behaviour), ms: median (max) of "
        f"{len(rolls.what_if.get('as_is', []))} rounds, interleaved",
        "",
        "| engine | ms |",
        "|---|--:|",
    ]
    for name, label in WHAT_IFS:
        t = rolls.what_if.get(name, [])
        out.append(f"| {label} | {ms(t):.1f} ({ms(t, max):.1f}) |")
    return out


UPLOADS = {
    "full": "Andon, `releases.stage`, no previous release (full upload)",
    "delta": "Andon, `releases.stage`, previous release live (delta)",
    "rsync": "`rsync -a --delete --link-dest=../<prev>` over OpenSSH (baseline)",
}


def _redeploy_table(args: argparse.Namespace, r: Redeploy) -> list[str]:
    """The full upload, Andon's delta and rsync: time and bytes."""
    out = [
        "",
        f"**Redeploy to one host** — {r.files:,} files, {r.tree_bytes / 1e6:.1f} MB of random "
        f"bytes; {r.changed_files} files changed ({r.changed_bytes:,} bytes, the **changed "
        f"bytes**); median (max) of {args.redeploys} runs, interleaved. Andon's stage runs on an "
        "open (pooled) connection; rsync opens its own.",
        "",
        "| way | s | ÷ rsync | CPU s: client · host | bytes sent, MB | ÷ changed bytes | "
        "SSH bytes sent · received, MB | files sent | hard-linked |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    rsync = r.uploads["rsync"].summary()
    for name, label in UPLOADS.items():
        u = r.uploads[name].summary()
        cpu = (u["client_cpu_s"] or 0, u["host_cpu_s"] or 0)
        out.append(
            f"| {label} | {u['median_s']:.2f} ({u['max_s']:.2f}) | "
            f"{u['median_s'] / rsync['median_s']:.2f}× | {cpu[0]:.3f} · {cpu[1]:.3f} | "
            f"{_mb(u['payload_sent'])} | {u['payload_sent'] / r.changed_bytes:.2f}× | "
            f"{_mb(u['wire_sent'])} · {_mb(u['wire_received'])} | {u['files_sent']:.0f} | "
            f"{u['linked']:.0f} |"
        )
    return out


def _redeploy_notes(r: Redeploy) -> list[str]:
    """The cut, the archive's contents and what connecting costs, under the redeploy table."""
    overhead = r.archive_bytes - r.changed_bytes
    return [
        "",
        f"- Andon's cut of the bundle (`git archive`, extraction, hashing), once per deploy: "
        f"{median(r.cut_s):.2f} s median ({max(r.cut_s):.2f} max). Of it, `git archive` alone "
        f"(to /dev/null) {median(r.git_archive_s):.2f} s, the hashing alone (`bundle.scan`) "
        f"{r.hash_s:.2f} s; the rest is the extraction, {r.files:,} files written to this disk.",
        f"- What the delta sends besides the {r.changed_bytes:,} changed bytes: its archive "
        f"({r.archive_bytes:,} bytes: the changed files, `REVISION` and tar's headers, gzip'd; "
        f"{overhead:,} bytes over the changed, {overhead / (r.changed_files + 1):,.0f} per "
        f"member) and the edits that turn the live release's `.andon-manifest` into the new "
        f"one ({r.edits_bytes:,} bytes, where the whole manifest is {r.manifest_bytes:,}, "
        f"gzip'd {r.manifest_gz_bytes:,}). Not in `bytes_sent`: the checksum list fed to the "
        f"host's check ({r.sums_bytes:,} bytes per verify).",
        f"- Connecting: a bare OpenSSH connection, `ssh host true` (what each rsync run pays "
        f"first), {median(r.ssh_true_s) * 1000:.0f} ms median; a new `SshTransport`'s "
        f"connection (paramiko, with its SFTP session; what Andon's stage pays when the pool "
        f"has none), {median(r.connect_s) * 1000:.0f} ms; a command on an open connection, "
        f'`Connection.run("true")` (an SFTP `stat` and an exec channel: the host\'s sshd '
        f"starts the user's shell), {median(r.exec_s) * 1000:.0f} ms median of "
        f"{len(r.exec_s)}.",
    ]


def _delta_breakdown(d: dict[str, Any]) -> list[str]:
    """Each call the clocked delta made to the host, the longest first, then the local rest."""
    out = [
        "",
        f"**Where a delta's {d['total_s']:.2f} s go** (one more delta stage, each call to the "
        "host clocked; the rest is local: the manifests compared, the archive written)",
        "",
        "| call | what it does here | calls | ms |",
        "|---|---|--:|--:|",
    ]
    for name, (calls, total) in sorted(d["spans"].items(), key=lambda kv: -kv[1][1]):
        what = CALLS.get(name.removeprefix("ssh "), "")
        out.append(f"| `{name.removeprefix('ssh ')}` | {what} | {calls} | {total * 1000:.0f} |")
    local = d["total_s"] - sum(total for _, total in d["spans"].values())
    out.append(
        f"| (local) | the old manifest parsed, the delta computed, its archive written | | "
        f"{local * 1000:.0f} |"
    )
    return out


FLIP_LABELS = {
    "rename": "Andon: `releases.activate` (symlink to a temporary name, `posix_rename`)",
    "unlink": "control: unlink `current`, then symlink it again",
}


def _atomicity_table(flips: list[Flips]) -> list[str]:
    out = [
        "",
        "**Atomicity** — a thread opening and reading `current/REVISION` in a tight loop "
        "(local filesystem) while the flips run over SFTP",
        "",
        "| flip | flips | s | reads | failed reads |",
        "|---|--:|--:|--:|--:|",
    ]
    for f in flips:
        first = f" ({f.first_failure})" if f.first_failure else ""
        out.append(
            f"| {FLIP_LABELS[f.way]} | {f.flips} | {f.seconds:.2f} | {f.reads:,} | "
            f"{f.failures:,}{first} |"
        )
    return out


def _targets(big: int, rolls: Rollbacks, r: Redeploy, flips: list[Flips]) -> list[str]:
    """Each target with its figure and whether it was met."""
    cold, warm = ms(rolls.seconds["engine_cold", big]), ms(rolls.seconds["engine_warm", big])
    a_cold, a_warm = ms(rolls.seconds["port_cold", big]), ms(rolls.seconds["port_warm", big])
    delta, rsync = r.uploads["delta"].summary(), r.uploads["rsync"].summary()
    ratio = delta["payload_sent"] / r.changed_bytes
    atomic = next(f for f in flips if f.way == "rename")
    return [
        "",
        "**Targets**",
        "",
        f"- rollback of {big} hosts, cold, under {TARGET_COLD_S * 1000:.0f} ms: (b) through the "
        f"engine {cold:.1f} ms — {_verdict(cold < TARGET_COLD_S * 1000)}; (a) the flip alone "
        f"{a_cold:.1f} ms — {_verdict(a_cold < TARGET_COLD_S * 1000)}",
        f"- rollback of {big} hosts, warm, under {TARGET_WARM_S * 1000:.0f} ms: (b) through the "
        f"engine {warm:.1f} ms — {_verdict(warm < TARGET_WARM_S * 1000)}; (a) the flip alone "
        f"{a_warm:.1f} ms — {_verdict(a_warm < TARGET_WARM_S * 1000)}",
        f"- delta at least as fast as rsync: {delta['median_s']:.2f} s against "
        f"{rsync['median_s']:.2f} s — {_verdict(delta['median_s'] <= rsync['median_s'])}",
        f"- delta's bytes sent within {TARGET_BYTES_RATIO:.0f}× the changed bytes: "
        f"{delta['payload_sent']:,.0f} bytes, {ratio:.2f}× — "
        f"{_verdict(ratio <= TARGET_BYTES_RATIO)}",
        f"- no failed read during {atomic.flips} flips: {atomic.failures} failed of "
        f"{atomic.reads:,} reads — {_verdict(atomic.failures == 0)}",
        *_ratio_targets(big, rolls, r),
    ]


def _ratio_targets(big: int, rolls: Rollbacks, r: Redeploy) -> list[str]:
    """Issue 22's: each figure against its baseline from the same run."""
    delta, rsync = r.uploads["delta"].summary(), r.uploads["rsync"].summary()
    ratios = {
        "rsync": (delta["median_s"] / rsync["median_s"], TARGET_RSYNC_RATIO),
        "bytes": (delta["payload_sent"] / r.changed_bytes, TARGET_BYTES_RATIO_22),
    }
    said = {name: f"{got:.2f}× — {_verdict(got <= want)}" for name, (got, want) in ratios.items()}
    return [
        "",
        "**Targets of issue 22** (ratios to a baseline of the same run)",
        "",
        *_rollback_ratios(big, rolls),
        f"- delta redeploy ≤ {TARGET_RSYNC_RATIO}× `rsync --link-dest`: {delta['median_s']:.2f} s "
        f"against {rsync['median_s']:.2f} s, {said['rsync']}",
        f"- delta's bytes sent ≤ {TARGET_BYTES_RATIO_22}× the changed bytes: {said['bytes']}",
    ]


def _rollback_ratios(big: int, rolls: Rollbacks) -> list[str]:
    cold, warm = ms(rolls.seconds["engine_cold", big]), ms(rolls.seconds["engine_warm", big])
    a_cold, a_warm = ms(rolls.seconds["port_cold", big]), ms(rolls.seconds["port_warm", big])
    w, c = warm / a_warm, cold / a_cold
    return [
        f"- warm rollback of {big} hosts through the engine ≤ {TARGET_WARM_RATIO}× the flip "
        f"alone: {warm:.1f} ms against {a_warm:.1f} ms, {w:.2f}× — "
        f"{_verdict(w <= TARGET_WARM_RATIO)}",
        f"- cold rollback of {big} hosts ≤ {TARGET_COLD_RATIO}× connect-and-flip: {cold:.1f} ms "
        f"against {a_cold:.1f} ms, {c:.2f}× — {_verdict(c <= TARGET_COLD_RATIO)}",
    ]


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"
