"""One SSH host as the deploy port: SFTP for the filesystem moves, exec channels for commands."""

import itertools
import posixpath
import shlex
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import BinaryIO

import paramiko
from paramiko.sftp import CMD_EXTENDED, CMD_LSTAT, CMD_READLINK, CMD_SYMLINK

from bot.hosts.sftp_pipeline import POSIX_RENAME, Pipeline, link_target, path_found, succeeded
from bot.hosts.ssh_commands import CHUNK, Output, drain, failure, feed, remaining
from bot.hosts.ssh_link import STALL_TIMEOUT, Link, reason
from bot.hosts.ssh_staging import failed_paths, raise_for_step, staging
from core.deploy.transport import (
    OUTPUT_TAIL,
    CommandResult,
    HostError,
    Later,
    Patch,
    Unpacked,
    parse_sums,
    path_inside,
    removable,
)

STEP_TIMEOUT = 600.0  # cp, rm, tar or sha256sum running ten minutes means the host is stuck


class SshConnection:
    """One host, borrowed from the pool; ``close()`` gives it back for the next deploy."""

    def __init__(self, link: Link, release: Callable[[Link], None]) -> None:
        self.address = link.address
        self.client = link.client  # the pooled paramiko client, for diagnostics and tests
        self._link = link
        self._sftp = link.sftp
        self._release = release
        self._closed = False

    def read_text(self, path: str) -> str | None:
        with self._failing(f"read {path}"):
            try:
                with self._sftp.open(path, "rb") as file:
                    file.prefetch()  # many requests in flight, not one round trip per 32 KB
                    data = file.read()
            except FileNotFoundError:
                return None
        return data.decode("utf-8", errors="replace")

    def exists(self, path: str) -> bool:
        with self._failing(f"look at {path}"):
            try:
                self._sftp.lstat(path)
            except FileNotFoundError:
                return False
        return True

    def list_dir(self, path: str) -> list[str]:
        with self._failing(f"list {path}"):
            try:
                return sorted(self._sftp.listdir(path))
            except FileNotFoundError:
                return []

    def read_link(self, path: str) -> str | None:
        with self._failing(f"read link {path}"):
            try:
                return self._sftp.readlink(path)
            except OSError:
                # sftp-server does not say why; a second look tells "not a symlink" apart.
                if not _is_symlink(self._sftp, path):
                    return None
                raise

    def look(self, link: str, paths: Sequence[str]) -> tuple[str | None, list[bool]]:
        return self.look_soon(link, paths).result()

    def look_soon(self, link: str, paths: Sequence[str]) -> Later[tuple[str | None, list[bool]]]:
        # The questions in flight at once; only a failed readlink needs a second look, as in
        # ``read_link`` (sftp-server does not say why it failed).
        what = f"look at {link}"
        with self._failing(what):
            asked = Pipeline(self._sftp).send(
                [(CMD_READLINK, link), *((CMD_LSTAT, path) for path in paths)]
            )

        def answered() -> tuple[str | None, list[bool]]:
            with self._failing(what):
                answers = asked.answers()
                present = [path_found(self._sftp, answer) for answer in answers[1:]]
                try:
                    return link_target(self._sftp, answers[0]), present
                except OSError:
                    if not _is_symlink(self._sftp, link):
                        return None, present
                    raise

        return Later(answered)

    def make_dirs(self, path: str) -> None:
        with self._failing(f"create {path}"):
            _make_dirs(self._sftp, posixpath.normpath(path), address=self.address)

    def link_copy(self, source: str, target: str) -> None:
        # cp would nest the copy inside an existing target: refuse instead, as the local one does.
        if self.exists(target):
            raise HostError(f"{self.address}: link-copy {source} to {target}: File exists")
        self._command(
            f"link-copy {source} to {target}",
            f"cp -al -- {shlex.quote(source)} {shlex.quote(target)}",
        )

    def remove_tree(self, path: str) -> None:
        target = removable(path, self.address)
        self._command(f"remove {path}", f"rm -rf -- {shlex.quote(target)}")

    def remove_files(self, root: str, paths: Sequence[str]) -> None:
        for path in paths:
            full = posixpath.join(root, path_inside(path, self.address))
            with self._failing(f"remove {full}"), suppress(FileNotFoundError):
                self._sftp.remove(full)

    def unpack(self, directory: str, archive: BinaryIO) -> int:
        # GNU tar replaces a file in the way by a new inode, so the live release's hard-linked
        # twin stays intact; -U (unlink first) would also try to unlink existing directories
        # and fail on every directory entry of the archive.
        command = f"tar -xzf - --no-same-owner -C {shlex.quote(directory)}"
        chunks = iter(lambda: archive.read(CHUNK), b"")
        result, sent = self._exec(command, stdin=chunks, timeout=STEP_TIMEOUT)
        if not result.ok:
            raise HostError(f"{self.address}: unpack into {directory}: {failure(result)}")
        return sent

    def verify(self, directory: str, sums: str) -> list[str]:
        if not parse_sums(sums, self.address):  # checked here: sha256sum would follow "../"
            return []  # and sha256sum calls an empty list an error
        command = f"cd {shlex.quote(directory)} && sha256sum --quiet -c - 2>&1"  # whole lines
        result, _ = self._exec(command, stdin=[sums.encode()], timeout=STEP_TIMEOUT, tail=None)
        bad = failed_paths(result.output)
        if not result.ok and not bad:
            raise HostError(f"{self.address}: verify {directory}: {failure(result)}")
        return bad

    def stage_tree(
        self,
        directory: str,
        *,
        base: str | None,
        remove: Sequence[str],
        archive: BinaryIO,
        sums: str,
        patch: Patch | None = None,
    ) -> Unpacked:
        script, parts = staging(
            directory, base=base, remove=remove, sums=sums, patch=patch, address=self.address
        )
        chunks = iter(lambda: archive.read(CHUNK), b"")
        result, sent = self._exec(
            script,
            stdin=itertools.chain(parts, chunks),
            timeout=STEP_TIMEOUT,
            tail=None,  # every "FAILED" line of sha256sum
            named=f"stage {directory}",
        )
        raise_for_step(result, address=self.address, directory=directory, base=base)
        bad = failed_paths(result.output)
        if not result.ok and not bad:
            raise HostError(f"{self.address}: verify {directory}: {failure(result)}")
        return Unpacked(bytes_sent=max(0, sent - len(parts[0]) - len(parts[1])), mismatched=bad)

    def write_text(self, path: str, text: str) -> None:
        # A new inode, renamed into place: the old file may be hard-linked into another release.
        temporary = f"{path}.{uuid.uuid4().hex}.tmp"
        with self._failing(f"write {path}"):
            try:
                with self._sftp.open(temporary, "wb") as file:
                    file.write(text.encode())
                self._sftp.posix_rename(temporary, path)
            except BaseException:
                self._remove_quietly(temporary)
                raise

    def rename(self, source: str, target: str) -> None:
        # Plain SFTP rename refuses an existing target; OpenSSH's extension is rename(2).
        with self._failing(f"rename {source} to {target}"):
            self._sftp.posix_rename(source, target)

    def repoint(self, link: str, target: str, *, through: str) -> None:
        self.repoint_soon(link, target, through=through).result()

    def repoint_soon(self, link: str, target: str, *, through: str) -> Later[None]:
        # sftp-server answers in order: the rename sees the new link. OpenSSH takes SYMLINK's
        # paths in the reverse of the draft's order, target first (test_transports checks it).
        what = f"point {link} at {target}"
        with self._failing(what):
            asked = Pipeline(self._sftp).send(
                [(CMD_SYMLINK, target, through), (CMD_EXTENDED, POSIX_RENAME, through, link)]
            )

        def answered() -> None:
            with self._failing(what):
                made, renamed = asked.answers()
                succeeded(self._sftp, made)  # a failed symlink fails the rename too: say why
                try:
                    succeeded(self._sftp, renamed)
                except BaseException:
                    self._remove_quietly(through)
                    raise

        return Later(answered)

    def run(self, command: str, *, cwd: str, timeout: float) -> CommandResult:
        # One pipe for both streams keeps their order (sshd reads stdout and stderr apart);
        # "||" and not "&&": with "cd X && a || b", b would run in the wrong directory.
        with self._failing(f"run in {cwd}"):
            self._sftp.stat(cwd)  # a missing directory is the caller's error, not the command's
        script = f"exec 2>&1; cd {shlex.quote(cwd)} || exit 1\n{command}"
        result, _ = self._exec(script, timeout=timeout, named=command)
        return result

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._release(self._link)

    @contextmanager
    def _failing(self, what: str) -> Iterator[None]:
        """paramiko and socket errors become the ``HostError`` the engine expects; a step that
        went through tells the pool the connection is alive."""
        try:
            yield
        except HostError:
            raise
        except (OSError, EOFError, paramiko.SSHException) as error:
            raise HostError(f"{self.address}: {what}: {reason(error)}") from error
        self._link.mark_answered()

    def _remove_quietly(self, path: str) -> None:
        with suppress(OSError, EOFError, paramiko.SSHException):
            self._sftp.remove(path)

    def _command(self, what: str, command: str) -> None:
        result, _ = self._exec(command, timeout=STEP_TIMEOUT)
        if not result.ok:
            raise HostError(f"{self.address}: {what}: {failure(result)}")

    def _exec(
        self,
        command: str,
        *,
        timeout: float,
        stdin: Iterable[bytes] = (),
        tail: int | None = OUTPUT_TAIL,
        named: str | None = None,
    ) -> tuple[CommandResult, int]:
        """Run one command on its own channel; the result, and the bytes fed to its stdin."""
        what = repr(named or command)
        deadline = time.monotonic() + timeout
        with self._failing(f"run {what}"):
            channel = self._link.open_channel(STALL_TIMEOUT)
            try:
                channel.set_combine_stderr(True)  # one stream: no deadlock between two
                channel.exec_command(command)
                output = Output(tail)
                sent = feed(channel, stdin, output, deadline)
                channel.shutdown_write()
                drain(channel, output, deadline)
                if not channel.status_event.wait(remaining(deadline)):
                    raise TimeoutError  # the output closed, the command runs on
                status = channel.recv_exit_status()
            except TimeoutError:
                raise HostError(f"{self.address}: {what} timed out after {timeout:g}s") from None
            finally:
                channel.close()
        if status == -1 and not self._link.active():
            raise HostError(f"{self.address}: connection lost while running {what}")
        return CommandResult(status, output.text()), sent


def _make_dirs(sftp: paramiko.SFTPClient, path: str, *, address: str) -> None:
    """``mkdir -p``, one SFTP request per missing level."""
    try:
        if stat.S_ISDIR(sftp.stat(path).st_mode or 0):
            return
        raise HostError(f"{address}: create {path}: it exists and is not a directory")
    except FileNotFoundError:
        pass
    parent = posixpath.dirname(path)
    if parent != path:
        _make_dirs(sftp, parent, address=address)
    try:
        sftp.mkdir(path)
    except OSError:
        if not stat.S_ISDIR(sftp.stat(path).st_mode or 0):  # not made meanwhile
            raise


def _is_symlink(sftp: paramiko.SFTPClient, path: str) -> bool:
    try:
        return stat.S_ISLNK(sftp.lstat(path).st_mode or 0)
    except FileNotFoundError:
        return False
