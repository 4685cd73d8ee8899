"""The deploy port, spoken locally and over SSH to real sshd hosts: the same moves, the same
results. The SSH hosts are this machine, so what a transport did is checked on the filesystem."""

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest
import requests

from bot.hosts.local import LocalTransport
from bot.hosts.ssh import SshTransport
from bot.hosts.ssh_connection import SshConnection
from bot.hosts.ssh_staging import failed_paths, staging_script
from core.config.hosts import Host
from core.deploy import manifest_delta
from core.deploy.transport import Connection, HostError, HostKeyError, Patch
from tests.ssh_hosts import SshFleet, generate_key


@dataclass
class Target:
    """A connection to a host and the host's app directory as seen from this machine."""

    connection: Connection
    app: Path

    def path(self, *parts: str) -> str:
        return str(self.app.joinpath(*parts))


@pytest.fixture(params=["local", "ssh"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """Every scenario below runs on the local transport and on SSH host 0 of the fleet."""
    transport: LocalTransport | SshTransport
    if request.param == "local":
        transport, host, app = LocalTransport(), Host(host="local"), tmp_path / "app"
        app.mkdir()
    else:
        fleet: SshFleet = request.getfixturevalue("fleet")
        transport, host = ssh_transport(fleet), fleet_host(fleet, 0)
        app = Path(fleet.hosts[0].path)
    connection = transport.connect(host)
    yield Target(connection, app)
    connection.close()
    transport.close()


@pytest.fixture
def transport(fleet: SshFleet) -> Iterator[SshTransport]:
    transport = ssh_transport(fleet)
    yield transport
    transport.close()


def ssh_transport(
    fleet: SshFleet, *, key: Path | None = None, known_hosts: Path | None = None
) -> SshTransport:
    return SshTransport(str(key or fleet.key_path), str(known_hosts or fleet.known_hosts_path))


def fleet_host(fleet: SshFleet, index: int) -> Host:
    return Host.model_validate(fleet.host_table(index))


def tar_of(files: dict[str, tuple[bytes, int]], *, directories: tuple[str, ...] = ()) -> bytes:
    """An archive as the engine sends it: ``{path: (content, mode)}``, plus directory entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in directories:
            entry = tarfile.TarInfo(name)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(entry)
        for name, (content, mode) in files.items():
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode = len(content), mode
            tar.addfile(entry, io.BytesIO(content))
    return buffer.getvalue()


def sums_of(files: dict[str, bytes]) -> str:
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items())


# --- Both transports: files and links ----------------------------------------------------------


def test_written_text_reads_back_and_a_missing_file_reads_as_none(target: Target) -> None:
    target.connection.write_text(target.path("REVISION"), "abc123\n")

    assert target.connection.read_text(target.path("REVISION")) == "abc123\n"
    assert target.connection.read_text(target.path("nothing-here")) is None


def test_writing_a_file_gives_it_a_new_inode_so_its_hard_links_keep_the_old_text(
    target: Target,
) -> None:
    (target.app / "old").write_text("v1")
    os.link(target.app / "old", target.app / "new")

    target.connection.write_text(target.path("new"), "v2")

    assert (target.app / "new").read_text() == "v2"
    assert (target.app / "old").read_text() == "v1"


def test_exists_sees_files_directories_and_dangling_symlinks(target: Target) -> None:
    (target.app / "file").write_text("")
    (target.app / "dir").mkdir()
    (target.app / "dangling").symlink_to("nowhere")

    assert all(target.connection.exists(target.path(n)) for n in ("file", "dir", "dangling"))
    assert not target.connection.exists(target.path("missing"))


def test_list_dir_names_the_entries_and_a_missing_directory_is_empty(target: Target) -> None:
    for name in ("b", "a", "c"):
        (target.app / name).mkdir()

    assert target.connection.list_dir(target.path()) == ["a", "b", "c"]
    assert target.connection.list_dir(target.path("missing")) == []


def test_make_dirs_creates_missing_parents_and_accepts_existing_ones(target: Target) -> None:
    target.connection.make_dirs(target.path("releases", "abc", "bin"))
    target.connection.make_dirs(target.path("releases", "abc"))

    assert (target.app / "releases" / "abc" / "bin").is_dir()


def test_repoint_makes_the_link_point_at_the_target(target: Target) -> None:
    """OpenSSH reverses SSH_FXP_SYMLINK's arguments: the link must still be link -> target."""
    (target.app / "releases" / "abc").mkdir(parents=True)

    target.connection.repoint(target.path("current"), "releases/abc", through=target.path(".t"))

    assert os.readlink(target.app / "current") == "releases/abc"


def test_repoint_switches_current_in_one_step_and_leaves_nothing_behind(target: Target) -> None:
    (target.app / "current").symlink_to("releases/old")

    target.connection.repoint(
        target.path("current"), "releases/new", through=target.path(".current.tmp")
    )

    assert target.connection.read_link(target.path("current")) == "releases/new"
    assert sorted(os.listdir(target.app)) == ["current"]


def test_a_repoint_that_cannot_replace_current_names_it_and_changes_nothing(
    target: Target,
) -> None:
    """A directory where ``current`` should be: the rename fails, the new link is removed."""
    (target.app / "current" / "app").mkdir(parents=True)

    with pytest.raises(HostError, match="current"):
        target.connection.repoint(
            target.path("current"), "releases/new", through=target.path(".current.tmp")
        )

    assert sorted(os.listdir(target.app)) == ["current"]
    assert (target.app / "current").is_dir() and not (target.app / "current").is_symlink()


def test_read_link_is_none_for_a_regular_file_or_a_missing_path(target: Target) -> None:
    (target.app / "file").write_text("")

    assert target.connection.read_link(target.path("file")) is None
    assert target.connection.read_link(target.path("missing")) is None


def test_look_answers_where_a_link_points_and_which_paths_exist(target: Target) -> None:
    (target.app / "releases" / "abc").mkdir(parents=True)
    (target.app / "current").symlink_to("releases/abc")
    (target.app / "file").write_text("")

    assert target.connection.look(
        target.path("current"), [target.path("releases", "abc"), target.path("missing")]
    ) == ("releases/abc", [True, False])
    assert target.connection.look(target.path("file"), [target.path("file")]) == (None, [True])
    assert target.connection.look(target.path("missing"), []) == (None, [])


# --- Both transports: release trees ------------------------------------------------------------


def test_link_copy_hard_links_the_files_and_keeps_symlinks_and_modes(target: Target) -> None:
    old = target.app / "releases" / "old"
    (old / "bin").mkdir(parents=True)
    (old / "bin" / "start").write_text("#!/bin/sh\n")
    (old / "bin" / "start").chmod(0o755)
    (old / "static").symlink_to("bin")

    target.connection.link_copy(str(old), target.path("releases", "new"))

    new = target.app / "releases" / "new"
    assert (new / "bin" / "start").stat().st_ino == (old / "bin" / "start").stat().st_ino
    assert (new / "bin" / "start").stat().st_mode & 0o777 == 0o755
    assert os.readlink(new / "static") == "bin"


def test_link_copy_refuses_a_target_that_already_exists(target: Target) -> None:
    """cp would quietly nest the copy inside it instead."""
    (target.app / "old").mkdir()
    (target.app / "new").mkdir()

    with pytest.raises(HostError, match="exists"):
        target.connection.link_copy(target.path("old"), target.path("new"))
    assert list((target.app / "new").iterdir()) == []


def test_remove_files_unlinks_the_given_paths_and_ignores_missing_ones(target: Target) -> None:
    (target.app / "sub").mkdir()
    for name in ("keep", "gone", "sub/gone"):
        (target.app / name).write_text(name)

    target.connection.remove_files(target.path(), ["gone", "sub/gone", "never-was"])

    assert sorted(p.name for p in target.app.rglob("*")) == ["keep", "sub"]


def test_remove_files_refuses_paths_that_leave_the_root(target: Target) -> None:
    (target.app / "outside").write_text("")
    (target.app / "root").mkdir()

    with pytest.raises(HostError, match="outside"):
        target.connection.remove_files(target.path("root"), ["../outside"])
    assert (target.app / "outside").exists()


def test_remove_tree_removes_everything_and_accepts_a_missing_tree(target: Target) -> None:
    (target.app / "releases" / "old" / "bin").mkdir(parents=True)
    (target.app / "releases" / "old" / "bin" / "start").write_text("")

    target.connection.remove_tree(target.path("releases", "old"))
    target.connection.remove_tree(target.path("releases", "old"))

    assert list((target.app / "releases").iterdir()) == []


def test_unpack_extracts_files_with_their_modes_and_counts_the_bytes(target: Target) -> None:
    archive = tar_of(
        {"bin/start": (b"#!/bin/sh\n", 0o755), "README": (b"hello\n", 0o644)},
        directories=("bin",),
    )

    sent = target.connection.unpack(target.path(), io.BytesIO(archive))

    assert sent == len(archive)
    assert (target.app / "bin" / "start").read_bytes() == b"#!/bin/sh\n"
    assert (target.app / "bin" / "start").stat().st_mode & 0o777 == 0o755
    assert (target.app / "README").stat().st_mode & 0o777 == 0o644


def test_unpack_never_writes_into_a_file_hard_linked_with_another_release(target: Target) -> None:
    """The new release starts as hard links to the live one; changing it must not touch it."""
    live = target.app / "live"
    (live / "lib").mkdir(parents=True)
    (live / "lib" / "app.py").write_text("v1")
    (live / "lib" / "same.py").write_text("unchanged")
    target.connection.link_copy(str(live), target.path("next"))

    archive = tar_of({"lib/app.py": (b"v2", 0o644)}, directories=("lib",))
    target.connection.unpack(target.path("next"), io.BytesIO(archive))

    assert (target.app / "next" / "lib" / "app.py").read_text() == "v2"
    assert (live / "lib" / "app.py").read_text() == "v1"
    assert (target.app / "next" / "lib" / "same.py").samefile(live / "lib" / "same.py")


def test_unpack_refuses_a_member_that_climbs_out_of_the_directory(target: Target) -> None:
    (target.app / "release").mkdir()
    archive = tar_of({"../escaped": (b"bad", 0o644)})

    with pytest.raises(HostError):
        target.connection.unpack(target.path("release"), io.BytesIO(archive))
    assert not (target.app / "escaped").exists()


def test_verify_names_the_changed_and_the_missing_files(target: Target) -> None:
    files = {"same.txt": b"same", "changed.txt": b"before", "sub/missing.txt": b"x"}
    (target.app / "same.txt").write_bytes(b"same")
    (target.app / "changed.txt").write_bytes(b"after")

    bad = target.connection.verify(target.path(), sums_of(files))

    assert bad == ["changed.txt", "sub/missing.txt"]


def test_verify_is_empty_when_every_file_matches(target: Target) -> None:
    (target.app / "a").write_bytes(b"a")

    assert target.connection.verify(target.path(), sums_of({"a": b"a"})) == []


def test_verify_refuses_sums_for_paths_outside_the_directory(target: Target) -> None:
    (target.app / "release").mkdir()

    with pytest.raises(HostError, match="outside"):
        target.connection.verify(target.path("release"), sums_of({"../secret": b""}))


def test_verifying_a_missing_directory_is_a_host_error(target: Target) -> None:
    with pytest.raises(HostError):
        target.connection.verify(target.path("missing"), sums_of({"a": b"a"}))


def live_release(target: Target) -> Path:
    """A release as a deploy leaves it: a changed file, an unchanged one, one to delete."""
    live = target.app / "releases" / "live"
    (live / "lib").mkdir(parents=True)
    (live / "lib" / "app.py").write_text("v1")
    (live / "lib" / "same.py").write_text("unchanged")
    (live / "old.py").write_text("deleted in the next release")
    return live


def test_stage_tree_builds_a_delta_from_the_live_release_and_checks_it(target: Target) -> None:
    live = live_release(target)
    archive = tar_of({"lib/app.py": (b"v2", 0o644)}, directories=("lib",))
    sums = sums_of({"lib/app.py": b"v2", "lib/same.py": b"unchanged"})

    done = target.connection.stage_tree(
        target.path("releases", "next"),
        base=str(live),
        remove=["lib/app.py", "old.py", "never-was"],
        archive=io.BytesIO(archive),
        sums=sums,
    )

    new = target.app / "releases" / "next"
    assert (done.bytes_sent, done.mismatched) == (len(archive), [])
    assert (new / "lib" / "app.py").read_text() == "v2"
    assert (live / "lib" / "app.py").read_text() == "v1"
    assert (new / "lib" / "same.py").samefile(live / "lib" / "same.py")
    assert not (new / "old.py").exists() and (live / "old.py").exists()
    assert sorted(os.listdir(target.app / "releases")) == ["live", "next"]  # no sums left


def test_stage_tree_without_a_base_starts_empty_and_names_the_files_that_differ(
    target: Target,
) -> None:
    archive = tar_of({"a": (b"a", 0o644), "b": (b"not what the sums say", 0o644)})
    sums = sums_of({"a": b"a", "b": b"b", "sub/missing": b"m"})

    done = target.connection.stage_tree(
        target.path("releases", "new"), base=None, remove=[], archive=io.BytesIO(archive), sums=sums
    )

    assert done.mismatched == ["b", "sub/missing"]
    assert sorted(os.listdir(target.app / "releases" / "new")) == ["a", "b"]


def test_stage_tree_takes_a_path_relative_to_where_the_transport_starts(target: Target) -> None:
    """The SSH user's home for SSH (as every SFTP path and command), the working directory
    locally."""
    start = Path.home() if isinstance(target.connection, SshConnection) else Path.cwd()
    live = live_release(target)
    archive = tar_of({"lib/app.py": (b"v2", 0o644)}, directories=("lib",))

    done = target.connection.stage_tree(
        os.path.relpath(target.path("releases", "next"), start),
        base=os.path.relpath(live, start),
        remove=["lib/app.py", "old.py"],
        archive=io.BytesIO(archive),
        sums=sums_of({"lib/app.py": b"v2", "lib/same.py": b"unchanged"}),
    )

    assert done.mismatched == []
    assert (target.app / "releases" / "next" / "lib" / "app.py").read_text() == "v2"
    assert not (target.app / "releases" / "next" / "old.py").exists()
    assert sorted(os.listdir(target.app / "releases")) == ["live", "next"]


def test_stage_tree_refuses_a_directory_that_already_exists(target: Target) -> None:
    """cp would quietly nest the copy inside it instead."""
    live = live_release(target)
    (target.app / "releases" / "next").mkdir()

    with pytest.raises(HostError, match="exists"):
        target.connection.stage_tree(
            target.path("releases", "next"),
            base=str(live),
            remove=[],
            archive=io.BytesIO(tar_of({})),
            sums="",
        )
    assert list((target.app / "releases" / "next").iterdir()) == []


def test_stage_tree_refuses_paths_that_leave_the_directory(target: Target) -> None:
    (target.app / "outside").write_text("")
    empty = tar_of({})

    with pytest.raises(HostError, match="outside"):
        target.connection.stage_tree(
            target.path("a"), base=None, remove=["../outside"], archive=io.BytesIO(empty), sums=""
        )
    with pytest.raises(HostError, match="outside"):
        target.connection.stage_tree(
            target.path("b"),
            base=None,
            remove=[],
            archive=io.BytesIO(empty),
            sums=sums_of({"../outside": b""}),
        )
    assert (target.app / "outside").exists()


def test_stage_tree_names_the_step_that_failed(target: Target) -> None:
    with pytest.raises(HostError, match="link-copy"):
        target.connection.stage_tree(
            target.path("next"),
            base=target.path("missing"),
            remove=[],
            archive=io.BytesIO(tar_of({})),
            sums="",
        )
    with pytest.raises(HostError, match="unpack into"):
        target.connection.stage_tree(
            target.path("next"),
            base=None,
            remove=[],
            archive=io.BytesIO(b"not a gzip'd tar"),
            sums="",
        )


def test_stage_tree_patches_a_file_from_the_base_as_a_new_inode(target: Target) -> None:
    """The manifest of a redeploy travels as the lines that changed; the host rebuilds it."""
    live = live_release(target)
    old = "".join(f'"lib/f{n}.py":"{n}",\n' for n in range(40)) + "end\n"
    (live / "listing").write_text(old)
    new = old.replace('"lib/f7.py":"7"', '"lib/f7.py":"seven"') + "a line it never had\n"
    patch = Patch("listing", manifest_delta.edits(old, new) or "")
    archive = tar_of({"lib/app.py": (b"v2", 0o644)}, directories=("lib",))

    done = target.connection.stage_tree(
        target.path("releases", "next"),
        base=str(live),
        remove=["lib/app.py"],
        archive=io.BytesIO(archive),
        sums=sums_of({"lib/app.py": b"v2", "listing": new.encode()}),
        patch=patch,
    )

    made = target.app / "releases" / "next" / "listing"
    assert 0 < len(patch.edits) < len(new) // 3
    assert (done.bytes_sent, done.mismatched) == (len(archive) + len(patch.edits), [])
    assert made.read_text() == new and (live / "listing").read_text() == old
    assert not made.samefile(live / "listing")
    assert sorted(os.listdir(target.app / "releases")) == ["live", "next"]  # no edits left


def test_a_patch_that_does_not_fit_its_base_leaves_the_file_missing_and_named(
    target: Target,
) -> None:
    live = live_release(target)
    (live / "listing").write_text("one line\n")

    done = target.connection.stage_tree(
        target.path("releases", "next"),
        base=str(live),
        remove=[],
        archive=io.BytesIO(tar_of({})),
        sums=sums_of({"lib/same.py": b"unchanged", "listing": b"one line\ntwo\n"}),
        patch=Patch("listing", "=2\n+two\n"),
    )

    assert done.mismatched == ["listing"]
    assert not (target.app / "releases" / "next" / "listing").exists()
    assert (live / "listing").read_text() == "one line\n"
    with pytest.raises(HostError, match="outside"):
        target.connection.stage_tree(
            target.path("releases", "other"),
            base=str(live),
            remove=[],
            archive=io.BytesIO(tar_of({})),
            sums="",
            patch=Patch("../listing", "=1\n"),
        )
    assert sorted(os.listdir(target.app / "releases")) == ["live", "next"]


@pytest.mark.parametrize("without", ["openssl", "awk"])
def test_a_host_without_openssl_or_awk_checks_with_sha256sum_the_same_way(
    tmp_path: Path, without: str
) -> None:
    """The staging script as sshd runs it, on a host whose PATH lacks a tool: the same files
    named, and a patch that cannot be applied leaves its file missing (then sent whole)."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("cp", "rm", "xargs", "head", "mktemp", "tar", "gzip", "sha256sum", "sed"):
        (tools / tool).symlink_to(shutil.which(tool) or tool)
    for tool in {"openssl", "awk", "tr", "cut"} - {without}:
        (tools / tool).symlink_to(shutil.which(tool) or tool)
    base = tmp_path / "base"
    base.mkdir()
    (base / "same").write_text("same")
    (base / "listing").write_text("a\n")
    sums = sums_of({"same": b"same", "new": b"new", "gone": b"", "listing": b"a\nb\n"}).encode()
    edits = b"=1\n+b\n"
    script = staging_script(
        "next", base="base", removals=0, sums=len(sums), patch=("listing", len(edits))
    )
    archive = tar_of({"new": (b"not new", 0o644)})
    done = subprocess.run(
        [shutil.which("sh") or "sh", "-c", script],
        input=sums + edits + archive,
        capture_output=True,
        cwd=tmp_path,
        env={"PATH": str(tools)},
        timeout=30,
    )
    patched = ["listing"] if without == "awk" else []
    assert done.returncode == 1
    assert failed_paths(done.stdout.decode()) == ["new", "gone", *patched]
    assert (tmp_path / "next" / "listing").exists() == (without != "awk")


# --- Both transports: commands -----------------------------------------------------------------


def test_run_answers_status_and_combined_output_from_the_given_directory(target: Target) -> None:
    (target.app / "work").mkdir()

    result = target.connection.run(
        "echo to-stdout; echo to-stderr >&2; pwd; exit 3", cwd=target.path("work"), timeout=30
    )

    assert result.status == 3
    assert result.output.splitlines() == ["to-stdout", "to-stderr", target.path("work")]


def test_run_keeps_only_the_tail_of_a_long_output(target: Target) -> None:
    result = target.connection.run("seq 1 5000", cwd=target.path(), timeout=30)

    assert result.ok
    assert len(result.output) <= 4000
    assert result.output.endswith("\n4999\n5000\n")


def test_a_command_that_outlives_its_timeout_is_a_host_error(target: Target) -> None:
    with pytest.raises(HostError, match=r"timed out after 0\.5s"):
        target.connection.run("sleep 20", cwd=target.path(), timeout=0.5)


def test_running_in_a_missing_directory_is_a_host_error(target: Target) -> None:
    with pytest.raises(HostError, match="missing"):
        target.connection.run("true", cwd=target.path("missing"), timeout=30)


def test_paths_with_spaces_quotes_and_substitutions_are_never_interpreted(target: Target) -> None:
    trap = f'it\'s a "release" $(touch {target.app}/pwned) `touch {target.app}/pwned2`'
    odd = target.path(trap)
    start = b"#!/bin/sh\n"
    target.connection.make_dirs(f"{odd}/src")

    target.connection.unpack(f"{odd}/src", io.BytesIO(tar_of({"bin/start": (start, 0o755)})))
    target.connection.link_copy(f"{odd}/src", f"{odd}/copy")
    bad = target.connection.verify(f"{odd}/copy", sums_of({"bin/start": start}))
    result = target.connection.run("pwd", cwd=f"{odd}/copy", timeout=30)
    staged = target.connection.stage_tree(
        f"{odd}/staged",
        base=f"{odd}/src",
        remove=["bin/start"],
        archive=io.BytesIO(tar_of({"bin/start": (start, 0o755)})),
        sums=sums_of({"bin/start": start}),
    )
    staged_copy = (Path(odd) / "staged" / "bin" / "start").read_bytes()
    target.connection.remove_tree(odd)

    assert bad == [] and staged.mismatched == [] and staged_copy == start
    assert result.output == f"{odd}/copy\n"
    assert not Path(odd).exists()
    assert not (target.app / "pwned").exists()
    assert not (target.app / "pwned2").exists()


# --- Each transport its own hosts --------------------------------------------------------------


def test_the_local_transport_connects_only_to_the_local_host() -> None:
    with pytest.raises(HostError, match="not local"):
        LocalTransport().connect(Host.model_validate("deploy@web1:22"))


def test_the_ssh_transport_does_not_take_the_local_host(transport: SshTransport) -> None:
    with pytest.raises(HostError, match="local"):
        transport.connect(Host(host="local"))


# --- SSH: who is trusted -----------------------------------------------------------------------


def test_a_host_missing_from_known_hosts_is_refused(fleet: SshFleet, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    transport = ssh_transport(fleet, known_hosts=empty)

    with pytest.raises(HostKeyError) as refused:
        transport.connect(fleet_host(fleet, 0))

    message = str(refused.value)
    assert f"127.0.0.1:{fleet.hosts[0].port} is not in {empty}" in message
    assert "ssh-keyscan" in message


def test_without_a_known_hosts_file_every_host_is_unknown(fleet: SshFleet, tmp_path: Path) -> None:
    transport = ssh_transport(fleet, known_hosts=tmp_path / "absent")

    with pytest.raises(HostKeyError, match="is not in"):
        transport.connect(fleet_host(fleet, 0))


def test_a_host_whose_key_changed_is_refused(fleet: SshFleet, tmp_path: Path) -> None:
    impostor = tmp_path / "known_hosts"
    impostor.write_text(f"[127.0.0.1]:{fleet.hosts[0].port} {fleet.host_key(1)}\n")
    transport = ssh_transport(fleet, known_hosts=impostor)

    with pytest.raises(HostKeyError, match="CHANGED"):
        transport.connect(fleet_host(fleet, 0))


def test_a_hashed_known_hosts_line_trusts_its_host(fleet: SshFleet, tmp_path: Path) -> None:
    """``ssh-keyscan -H`` and ``HashKnownHosts yes`` write names as ``|1|salt|hash``."""
    name = f"[127.0.0.1]:{fleet.hosts[0].port}"
    hashed = tmp_path / "known_hosts"
    hashed.write_text(f"{paramiko.HostKeys.hash_host(name)} {fleet.host_key(0)}\n")
    transport = ssh_transport(fleet, known_hosts=hashed)

    with closing(transport.connect(fleet_host(fleet, 0))) as connection:
        assert connection.read_link("/nowhere") is None


def test_a_host_key_added_after_a_refusal_counts_at_the_next_login(
    fleet: SshFleet, tmp_path: Path
) -> None:
    """known_hosts is read once, and again as soon as the operator changes it."""
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{fleet.hosts[1].port} {fleet.host_key(1)}\n")
    transport = ssh_transport(fleet, known_hosts=known)
    with pytest.raises(HostKeyError, match="is not in"):
        transport.connect(fleet_host(fleet, 0))

    with known.open("a") as lines:
        lines.write(f"[127.0.0.1]:{fleet.hosts[0].port} {fleet.host_key(0)}\n")

    with closing(transport.connect(fleet_host(fleet, 0))) as connection:
        assert connection.read_link("/nowhere") is None


def test_a_client_key_the_host_does_not_know_fails_authentication(
    fleet: SshFleet, tmp_path: Path
) -> None:
    stranger = generate_key(tmp_path / "stranger")
    transport = ssh_transport(fleet, key=stranger)

    with pytest.raises(HostError) as refused:
        transport.connect(fleet_host(fleet, 0))

    assert not isinstance(refused.value, HostKeyError)
    assert f"authentication failed for {fleet.hosts[0].address}" in str(refused.value)
    assert stranger.read_text().splitlines()[1] not in str(refused.value)


def test_a_host_that_is_down_is_named_with_the_cause(
    fleet: SshFleet, transport: SshTransport
) -> None:
    fleet.kill(1)

    with pytest.raises(HostError, match=rf"{fleet.hosts[1].address}: .*refused"):
        transport.connect(fleet_host(fleet, 1))


# --- SSH: the warm pool ------------------------------------------------------------------------


def test_connect_reuses_the_warm_connection(fleet: SshFleet, transport: SshTransport) -> None:
    first = ssh(transport.connect(fleet_host(fleet, 0)))
    warm = first.client.get_transport()
    first.close()

    second = ssh(transport.connect(fleet_host(fleet, 0)))

    assert second.client.get_transport() is warm


def test_a_connection_in_use_is_not_lent_twice(fleet: SshFleet, transport: SshTransport) -> None:
    first = ssh(transport.connect(fleet_host(fleet, 0)))
    second = ssh(transport.connect(fleet_host(fleet, 0)))

    assert second.client.get_transport() is not first.client.get_transport()
    first.close()
    second.close()  # the pool keeps one warm connection per host
    assert first.client.get_transport() is not None
    assert second.client.get_transport() is None


def test_connect_reconnects_after_the_host_restarted(
    fleet: SshFleet, transport: SshTransport
) -> None:
    connection = ssh(transport.connect(fleet_host(fleet, 0)))
    dead = connection.client.get_transport()
    connection.close()
    fleet.kill(0)
    fleet.restart(0)

    connection = ssh(transport.connect(fleet_host(fleet, 0)))
    connection.write_text(f"{fleet.hosts[0].path}/after-restart", "ok")

    assert connection.client.get_transport() is not dead
    assert Path(fleet.hosts[0].path, "after-restart").read_text() == "ok"


def test_a_warm_connection_that_stopped_answering_is_replaced(fleet: SshFleet) -> None:
    """The host's end vanished without a word (no FIN, no RST): the connection looks active."""
    transport = SshTransport(str(fleet.key_path), str(fleet.known_hosts_path), connect_timeout=1)
    connection = ssh(transport.connect(fleet_host(fleet, 0)))
    hung = connection.client.get_transport()
    connection.close()
    fleet.freeze_connections(0)

    connection = ssh(transport.connect(fleet_host(fleet, 0)))
    connection.write_text(f"{fleet.hosts[0].path}/answered", "ok")

    assert connection.client.get_transport() is not hung
    assert Path(fleet.hosts[0].path, "answered").read_text() == "ok"
    transport.close()


def test_a_connection_that_answered_a_moment_ago_is_lent_without_asking_again(
    fleet: SshFleet,
) -> None:
    """Within ``fresh_for`` the pool trusts the last answer (frozen here, to show it did)."""
    transport = SshTransport(str(fleet.key_path), str(fleet.known_hosts_path), fresh_for=30)
    connection = ssh(transport.connect(fleet_host(fleet, 0)))
    connection.exists(fleet.hosts[0].path)
    warm = connection.client.get_transport()
    connection.close()
    fleet.freeze_connections(0)

    again = ssh(transport.connect(fleet_host(fleet, 0)))

    assert again.client.get_transport() is warm
    again.close()
    transport.close()


def test_a_connection_that_answered_longer_ago_is_asked_again(fleet: SshFleet) -> None:
    transport = SshTransport(
        str(fleet.key_path), str(fleet.known_hosts_path), connect_timeout=1, fresh_for=0
    )
    connection = ssh(transport.connect(fleet_host(fleet, 0)))
    connection.exists(fleet.hosts[0].path)
    hung = connection.client.get_transport()
    connection.close()
    fleet.freeze_connections(0)

    connection = ssh(transport.connect(fleet_host(fleet, 0)))
    connection.write_text(f"{fleet.hosts[0].path}/answered", "ok")

    assert connection.client.get_transport() is not hung
    assert Path(fleet.hosts[0].path, "answered").read_text() == "ok"
    transport.close()


def test_hosts_are_connected_in_parallel_from_threads(
    fleet: SshFleet, transport: SshTransport
) -> None:
    def stamp(index: int) -> None:
        connection = transport.connect(fleet_host(fleet, index))
        connection.write_text(f"{fleet.hosts[index].path}/who", connection.address)
        connection.close()

    with ThreadPoolExecutor(max_workers=len(fleet.hosts)) as pool:
        list(pool.map(stamp, range(len(fleet.hosts))))

    for host in fleet.hosts:
        assert Path(host.path, "who").read_text() == host.address


def test_closing_the_transport_closes_the_warm_connections(
    fleet: SshFleet, transport: SshTransport
) -> None:
    connection = ssh(transport.connect(fleet_host(fleet, 0)))
    connection.close()

    transport.close()

    assert connection.client.get_transport() is None


def ssh(connection: Connection) -> SshConnection:
    assert isinstance(connection, SshConnection)
    return connection


# --- The fleet's own health endpoint -----------------------------------------------------------


def test_a_fleet_host_is_healthy_while_current_has_a_revision(fleet: SshFleet) -> None:
    app, url = Path(fleet.hosts[2].path), fleet.host_table(2)["health_url"]
    assert requests.get(url, timeout=5).status_code == 503

    (app / "releases" / "abc").mkdir(parents=True)
    (app / "releases" / "abc" / "REVISION").write_text("abc")
    (app / "current").symlink_to("releases/abc")
    assert (requests.get(url, timeout=5).status_code, requests.get(url, timeout=5).text) == (
        200,
        "abc",
    )

    (app / "releases" / "abc" / "UNHEALTHY").write_text("")
    assert requests.get(url, timeout=5).status_code == 503
