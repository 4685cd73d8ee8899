"""andon.toml as an operator meets it: the example loads, and every mistake is named by its key."""

import inspect
import re
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from core.config.build import root_problems
from core.config.file import AndonConfig, BuildConfig, ConfigError, Weekly, load, problems
from core.durations import parse_duration

EXAMPLE = Path(__file__).resolve().parent.parent / "andon.example.toml"

PRODUCTION = """
[environments.production]
path = "/srv/app"
hosts = ["deploy@web1", "deploy@web2:2222"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "andon.toml"
    path.write_text(text, encoding="utf-8")
    return path


def switched_on(text: str) -> str:
    """The example with every ``#key = …`` and ``#[section]`` line uncommented."""
    return re.sub(r'(?m)^#(?=[\[a-z"])', "", text)


def toml_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from toml_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from toml_keys(item)


def model_keys(annotation: Any) -> Iterator[str]:
    if annotation is Weekly:  # written as text: "mon 09:00"
        return
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            yield field.alias or name
            yield from model_keys(field.annotation)
    for arg in get_args(annotation):
        yield from model_keys(arg)


def test_the_shipped_example_loads_without_problems() -> None:
    assert problems(EXAMPLE) == []
    assert load(EXAMPLE).gate.override_trailer == "Line-Fix"


def test_the_example_with_every_feature_switched_on_loads_without_problems(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, switched_on(EXAMPLE.read_text(encoding="utf-8")))
    assert problems(path) == []
    config = load(path)
    assert config.environments["production"].after == "staging"
    assert config.checks[0].for_ == timedelta(minutes=5)


def test_the_example_documents_every_key() -> None:
    shown = set(toml_keys(tomllib.loads(switched_on(EXAMPLE.read_text(encoding="utf-8")))))
    assert set(model_keys(AndonConfig)) - shown == set()


def test_no_file_runs_the_line_with_defaults(tmp_path: Path) -> None:
    config = load(tmp_path / "absent.toml")
    assert problems(tmp_path / "absent.toml") == []
    assert config == AndonConfig()
    assert config.slack.channel is None
    assert config.access.deployers == []
    assert config.oncall is None and config.environments == {} and config.checks == []
    assert config.line.nag == timedelta(hours=2)
    assert config.protected_refs == ["refs/heads/main"]


def test_an_unknown_key_is_named_with_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, '[ci]\nbudgett = "30m"\n')
    assert problems(path) == ["ci.budgett: unknown key (did you mean 'budget'?)"]


def test_a_bad_duration_names_its_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[oncall]\nrotation = ["U01AAAA"]\nack_timeout = "5x"\n')
    assert problems(path) == [
        "oncall.ack_timeout: '5x' is not a duration; write e.g. 90s, 5m, 2h, 1d"
    ]


def test_a_bad_host_names_its_index(tmp_path: Path) -> None:
    path = write(tmp_path, PRODUCTION.replace('"deploy@web2:2222"', '"web2:abc"'))
    [problem] = problems(path)
    assert problem.startswith("environments.production.hosts[1]: 'web2:abc' is not a host")


def test_a_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[slack]\nchannel = "C0123456789"\n\n[ci\n')
    [problem] = problems(path)
    assert problem.startswith("line 4")


def test_an_environment_after_an_undefined_one_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, PRODUCTION + 'after = "stagin"\n')
    assert problems(path) == [
        "environments.production.after: 'stagin' is not a defined environment"
    ]


def test_several_problems_are_all_reported_at_once(tmp_path: Path) -> None:
    text = PRODUCTION.replace('"deploy@web1"', '"web1:abc"') + (
        '\n[ci]\nbudget = "soon"\n\n[digest]\ntimezone = "Mars/Base"\nwhen = "funday 09:00"\n'
    )
    found = problems(write(tmp_path, text))
    assert [line.split(":")[0] for line in found] == [
        "ci.budget",
        "environments.production.hosts[0]",
        "digest.when",
        "digest.timezone",
    ]
    assert "digest.timezone: unknown time zone 'Mars/Base'" in found[3]


def test_load_refuses_a_file_with_problems_and_carries_them_all(tmp_path: Path) -> None:
    path = write(tmp_path, '[line]\nnag = "0m"\n[slack]\nchanel = "C0123456789"\n')
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert sorted(p.split(":")[0] for p in refused.value.problems) == ["line.nag", "slack.chanel"]


def test_batches_accept_counts_and_shares_only(tmp_path: Path) -> None:
    path = write(tmp_path, PRODUCTION + 'batches = [1, "50%", "150%"]\n')
    [problem] = problems(path)
    assert problem.startswith("environments.production.batches[2]: '150%' is not a batch")


def test_durations_combine_units_and_refuse_zero() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1d") == timedelta(days=1)
    with pytest.raises(
        ValueError, match=re.escape("'5x' is not a duration; write e.g. 90s, 5m, 2h, 1d")
    ):
        parse_duration("5x")
    with pytest.raises(ValueError, match="'0s'"):
        parse_duration("0s")


def test_the_local_runner_without_a_repository_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, '[ci.local]\ncommand = "make test"\n')
    assert problems(path) == ["ci.local: needs [repo] path, the repository whose pushes it tests"]


def test_build_names_who_builds_and_never_root(tmp_path: Path) -> None:
    path = write(tmp_path, '[build]\nfrom_repo = true\nuser = "nobody"\ntimeout = "5m"\n')
    build = load(path).build
    assert build is not None and build.command is None and build.from_repo
    assert (build.user, build.timeout) == ("nobody", timedelta(minutes=5))
    assert load(write(tmp_path, "")).build is None
    assert problems(write(tmp_path, '[build]\nuser = "root"\n')) == [
        "build.user: root would give the build everything Andon has; name a user with less"
    ]
    assert problems(write(tmp_path, '[build]\nuser = "no body"\n')) == [
        "build.user: 'no body' is not a user name; write one like nobody or andon-build"
    ]


@pytest.mark.parametrize(
    ("build", "local_ci", "found"),
    [
        (None, False, False),
        (BuildConfig(command="make dist"), False, False),  # the server's own build: trusted
        (BuildConfig(from_repo=True), False, True),
        (None, True, True),
        (BuildConfig(from_repo=True, user="nobody"), True, False),
    ],
)
def test_as_root_code_from_the_repository_needs_a_build_user(
    build: BuildConfig | None, local_ci: bool, found: bool
) -> None:
    """What ``andon config check`` adds on a machine where Andon runs as root; never elsewhere."""
    said = root_problems(build, local_ci=local_ci, as_root=True)
    assert bool(said) == found
    assert all(p.startswith("build.user: Andon runs as root") and "[build] user" in p for p in said)
    assert root_problems(build, local_ci=local_ci, as_root=False) == []


SIGNUPS = """
[[checks]]
name = "signups"
url = "http://{host}:9100/signups.json"
max_drop = "20%"
"""


def test_a_watch_names_checks_and_a_typo_is_a_problem(tmp_path: Path) -> None:
    config = load(write(tmp_path, PRODUCTION + 'watch = ["signups"]\nwatch_for = "1m"\n' + SIGNUPS))
    assert config.environments["production"].watch_for == timedelta(minutes=1)
    assert config.checks[0].max_drop == pytest.approx(0.2)
    assert not config.checks[0].polled  # only a watch judges a drop: nothing polls it
    typo = PRODUCTION + 'watch = ["signups", "signupz"]\n' + SIGNUPS
    assert problems(write(tmp_path, typo)) == [
        "environments.production.watch[1]: 'signupz' is not a defined check (known: signups)"
    ]


def test_a_share_must_be_a_percentage_and_a_host_url_needs_a_watch(tmp_path: Path) -> None:
    text = PRODUCTION + SIGNUPS.replace('"20%"', "20") + 'max_rise = "0%"\n'
    assert problems(write(tmp_path, text)) == [
        "checks[0].max_drop: 20 is not a percentage; write e.g. '20%' (in quotes)",
        "checks[0].max_rise: '0%' is zero; a percentage here must be more than 0%",
    ]
    assert problems(write(tmp_path, PRODUCTION + SIGNUPS)) == [
        "checks[0].url: {host} is filled in with the hosts of an environment that watches "
        "'signups', and none does"
    ]
    unjudged = PRODUCTION + 'watch = ["signups"]\n' + SIGNUPS.replace('max_drop = "20%"\n', "")
    assert problems(write(tmp_path, unjudged)) == ["checks[0]: give min, max, max_drop or max_rise"]
