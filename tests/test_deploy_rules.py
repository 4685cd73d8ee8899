"""The deploy's rules on their own: how commands are read, how hosts are batched, how a release's
manifest turns into a delta, and how the repository's ``andon.deploy.toml`` overrides steps."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.intents.typed import Deploy, Help, Rollback, ShowDeploys, parse
from bot.releases.bundle import scan
from core.config.file import AndonConfig, BuildConfig, RepoConfig
from core.config.hosts import Environment
from core.deploy import manifest, manifest_delta
from core.deploy.batches import split
from core.deploy.manifest import Entry
from core.deploy.spec import SpecError, SpecRefusedError, steps_for
from tests.fuzzing import fuzz

ENVIRONMENTS = ("staging", "production")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("", Deploy()),
        ("3f2a9c1", Deploy("3f2a9c1")),
        ("production 3f2a9c1", Deploy("3f2a9c1", "production")),
        ("3f2a9c1 production", Deploy("3f2a9c1", "production")),
        ("3f2a9c1 fix: restores  checkout", Deploy("3f2a9c1", None, "restores checkout")),
        ("3f2a9c1 override", Deploy("3f2a9c1", override=True)),
        ("3f2a9c1 production again", Deploy("3f2a9c1", "production", again=True)),
        ("status", ShowDeploys()),
        ("status staging", ShowDeploys("staging")),
    ],
)
def test_deploy_reads_revision_and_environment_in_either_order(text: str, intent: Deploy) -> None:
    assert parse("/deploy", text, environments=ENVIRONMENTS) == intent


@pytest.mark.parametrize("text", ["3f2a9c1 9f1c2a0", "staging production x y", "x fix:"])
def test_a_deploy_that_cannot_be_read_gets_help_naming_it(text: str) -> None:
    answer = parse("/deploy", text, environments=ENVIRONMENTS)
    assert isinstance(answer, Help) and answer.not_understood is not None
    assert text.split()[0] in answer.not_understood


def test_rollback_reads_environment_revision_and_confirm() -> None:
    assert parse("/rollback", "", environments=ENVIRONMENTS) == Rollback()
    found = parse("/rollback", "3f2a9c1 production confirm", environments=ENVIRONMENTS)
    assert found == Rollback("production", "3f2a9c1", True)


@pytest.mark.parametrize(
    ("hosts", "batches", "sizes"),
    [
        (10, [1, "50%", "100%"], [1, 4, 5]),
        (3, [1, "50%", "100%"], [1, 1, 1]),
        (1, [1, "50%", "100%"], [1]),
        (5, [2], [2, 3]),  # what the list leaves out goes last: every host is reached
        (4, ["100%"], [4]),
        (20, [1, 5, "100%"], [1, 4, 15]),
    ],
)
def test_batches_are_cumulative_targets_canary_first(
    hosts: int, batches: list[int | str], sizes: list[int]
) -> None:
    groups = split(list(range(hosts)), batches)
    assert [len(group) for group in groups] == sizes
    assert [host for group in groups for host in group] == list(range(hosts))


def test_a_changed_mode_counts_as_a_changed_file() -> None:
    old = {"a": Entry(0o644, "1" * 64), "b": Entry(0o644, "2" * 64), "gone": Entry(0o644, "3" * 64)}
    new = {"a": Entry(0o644, "1" * 64), "b": Entry(0o755, "2" * 64), "new": Entry(0o644, "4" * 64)}
    assert manifest.changes(old, new) == (["b", "new"], ["gone"])


def test_a_manifest_survives_its_round_trip_and_refuses_garbage(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "run").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "run").chmod(0o755)
    (tmp_path / "link").symlink_to("bin/run")
    found = scan(tmp_path)
    assert found["bin/run"].mode == 0o755 and found["link"].link == "bin/run"
    assert manifest.loads(manifest.dumps(found)) == found
    assert manifest.loads("{not json") is None
    assert manifest.loads('{"files": {"a": {}}}') is None


def test_a_manifest_is_a_file_per_line_and_a_redeploy_sends_only_the_lines_that_changed() -> None:
    old = {f"src/f{n:03d}.py": Entry(0o644, f"{n:064x}") for n in range(300)}
    new = {**old, "src/f007.py": Entry(0o755, "7" * 64), 'zz \u00e9"': Entry(0o777, link="a b")}
    del new["src/f100.py"]
    before, after = manifest.dumps(old), manifest.dumps(new)
    assert manifest.loads(after) == new and len(after.splitlines()) == len(new) + 2
    edits = manifest_delta.edits(before, after)
    assert edits is not None and len(edits) < 400
    assert manifest_delta.applied(before, edits) == after
    one_line = json.dumps(json.loads(before), separators=(",", ":"))  # as older Andons wrote it
    assert manifest_delta.edits(one_line, after) is None  # sent whole
    assert manifest_delta.edits(None, after) is None


@fuzz(150)
@given(
    old=st.lists(st.sampled_from(["a", "b", "c", "d", "", "é"]), max_size=12),
    new=st.lists(st.sampled_from(["a", "b", "c", "d", "", "x"]), max_size=12),
)
def test_applied_edits_give_back_the_new_text(old: list[str], new: list[str]) -> None:
    before, after = "".join(f"{line}\n" for line in old), "".join(f"{line}\n" for line in new)
    edits = manifest_delta.edits(before * 10, after * 10)
    if edits is not None:
        assert manifest_delta.applied(before * 10, edits) == after * 10


def test_a_file_name_with_a_newline_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad\nname").write_text("x")
    with pytest.raises(manifest.UnsafeTreeError, match="newline"):
        scan(tmp_path)


class _Repo:
    """A source whose only file is the deploy spec."""

    def __init__(self, spec: str | None) -> None:
        self.spec = spec

    def read(self, revision: str, path: str) -> str | None:
        return self.spec if path == "andon.deploy.toml" else None


def _config(*, from_repo: bool = True) -> AndonConfig:
    production = Environment(
        path="/srv/app",
        hosts=["local"],
        before_activate=["./bin/migrate"],
        after_activate=["reload"],
    )
    return AndonConfig(
        repo=RepoConfig(path="/srv/git/app.git"),
        environments={"production": production},
        build=BuildConfig(command="make", from_repo=from_repo),
    )


def test_the_repositorys_spec_overrides_the_servers_steps_for_its_environment() -> None:
    spec = (
        'build = "make dist"\n'
        'after_activate = ["systemctl reload app"]\n'
        "[environments.production]\n"
        'health_command = "curl -fsS localhost:8080/healthz"\n'
        "[environments.staging]\n"
        'build = "make staging"\n'
    )
    steps = steps_for(_config(), "production", _Repo(spec), "a" * 40)  # type: ignore[arg-type]
    assert steps.build == "make dist" and steps.build_from_repo
    assert steps.before_activate == ("./bin/migrate",)  # the server's, not overridden
    assert steps.after_activate == ("systemctl reload app",)
    assert steps.health_command == "curl -fsS localhost:8080/healthz"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("build = [", "andon.deploy.toml at aaaaaaa"),
        ("deploy = 1", "deploy is not a deploy step"),
        ('after_activate = "reload"', "after_activate must be a list of commands"),
        ('[environments.production]\nbuild = ""', "environments.production.build must be"),
    ],
)
def test_a_broken_spec_names_its_key(spec: str, problem: str) -> None:
    with pytest.raises(SpecError, match=problem):
        steps_for(_config(), "production", _Repo(spec), "a" * 40)  # type: ignore[arg-type]


def test_without_from_repo_a_spec_that_asks_for_commands_is_refused_naming_the_setting() -> None:
    spec = 'after_activate = ["reload"]\n[environments.production]\nbuild = "make dist"\n'
    with pytest.raises(SpecRefusedError) as refused:
        steps_for(_config(from_repo=False), "production", _Repo(spec), "a" * 40)  # type: ignore[arg-type]
    assert str(refused.value) == (
        "andon.deploy.toml at aaaaaaa asks to run commands of its own (build, after_activate), "
        "and andon.toml runs a repository's commands only with `[build] from_repo = true` — "
        "nothing was deployed"
    )


def test_without_from_repo_the_servers_own_steps_run_and_other_environments_do_not_count() -> None:
    spec = '[environments.staging]\nbuild = "make staging"\n'
    steps = steps_for(_config(from_repo=False), "production", _Repo(spec), "a" * 40)  # type: ignore[arg-type]
    assert steps.build == "make" and not steps.build_from_repo
    assert steps.after_activate == ("reload",)
