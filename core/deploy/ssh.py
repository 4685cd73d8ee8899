"""The deploy port over SSH with paramiko: SFTP for filesystem moves, exec channels for commands.

Every exec channel costs 90–155 ms even on an open connection (sshd forks a session and a
shell), while an SFTP request costs a round trip: so the flip of ``current`` is two SFTP
requests, a look at a host one (pipelined), commands run only where a tool must (staging —
``cp -al``, ``tar`` and ``sha256sum`` as one script — and hooks), and connections stay open
between deploys (TESTING.md, SSH hosts).
"""

import itertools
import os
import posixpath
import shlex
import socket
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import BinaryIO

import paramiko
from paramiko.message import Message
from paramiko.sftp import CMD_ATTRS, CMD_LSTAT, CMD_NAME, CMD_READLINK, CMD_STATUS
from paramiko.ssh_exception import NoValidConnectionsError

from core.config_hosts import Host
from core.deploy.local import OUTPUT_TAIL, parse_sums, path_inside, removable
from core.deploy.transport import CommandResult, Connection, HostError, HostKeyError, Unpacked

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
_STALL_TIMEOUT = 60.0  # an SFTP request unanswered for a minute means the host is gone
_STEP_TIMEOUT = 600.0  # cp, rm, tar or sha256sum running ten minutes means the host is stuck
_CHUNK = 32 * 1024
_FRESH_FOR = 1.0  # a connection that answered this recently is lent without a liveness check


class SshTransport:
    """Opens authenticated connections and keeps one warm per host between deploys.

    Only key authentication, and only hosts whose key is already in ``known_hosts``: an
    unknown or changed host key is refused, never learned.
    """

    def __init__(
        self,
        key_path: str | None,
        known_hosts: str | None,
        *,
        connect_timeout: float = 10,
        keepalive: int = 15,
        fresh_for: float = _FRESH_FOR,
    ) -> None:
        self.key_path = os.path.expanduser(key_path) if key_path else None
        self.known_hosts = os.path.expanduser(known_hosts or DEFAULT_KNOWN_HOSTS)
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.fresh_for = fresh_for
        self._key: paramiko.PKey | None = None
        self._key_lock = threading.Lock()
        self._guard = threading.Lock()  # guards the dictionaries below, never held for I/O
        self._locks: dict[str, threading.Lock] = {}
        self._idle: dict[str, _Link] = {}
        self._links: set[_Link] = set()

    def connect(self, host: Host) -> Connection:
        if host.is_local:
            raise HostError("local is not an SSH host: it needs the local transport")
        with self._lock(host.address):
            link = self._take_idle(host.address) or self._dial(host)
        return SshConnection(link, self._release)

    def close(self) -> None:
        with self._guard:
            links = list(self._links)
            self._links.clear()
            self._idle.clear()
        for link in links:
            link.close()

    def _lock(self, address: str) -> threading.Lock:
        """One lock per host: hosts are dialled in parallel, each by one thread at a time."""
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def _take_idle(self, address: str) -> "_Link | None":
        """The warm connection, if it still answers: a host may have rebooted since.

        One that answered within ``fresh_for`` seconds is not asked again: the next step of
        the same deploy, or a rollback right after one, would otherwise pay a round trip per
        host for a question just answered.
        """
        with self._guard:
            link = self._idle.pop(address, None)
        if link is None or link.answered_within(self.fresh_for):
            return link
        if not link.answers(self.connect_timeout):
            self._discard(link)
            return None
        return link

    def _release(self, link: "_Link") -> None:
        with self._guard:
            if link.active() and link in self._links and link.address not in self._idle:
                self._idle[link.address] = link
                return
        self._discard(link)

    def _discard(self, link: "_Link") -> None:
        with self._guard:
            self._links.discard(link)
        link.close()

    def _dial(self, host: Host) -> "_Link":
        client = paramiko.SSHClient()
        try:
            self._authenticate(client, host)
            transport = client.get_transport()
            assert transport is not None  # connect() succeeded
            transport.set_keepalive(self.keepalive)
            _no_delay(transport)
            sftp = client.open_sftp()
        except HostError:
            client.close()
            raise
        except (OSError, EOFError, paramiko.SSHException) as error:
            client.close()
            raise HostError(f"{host.address}: {_reason(error)}") from error
        sftp.get_channel().settimeout(_STALL_TIMEOUT)
        link = _Link(host.address, client, sftp)
        with self._guard:
            self._links.add(link)
        return link

    def _authenticate(self, client: paramiko.SSHClient, host: Host) -> None:
        self._load_host_keys(client, host)
        where = f"{host.host}:{host.port}"
        client.set_missing_host_key_policy(_RefuseUnknown(where, self.known_hosts))
        key = self._client_key(host)
        try:
            client.connect(
                host.host.strip("[]"),
                port=host.port,
                username=host.user,
                pkey=key,
                allow_agent=key is None,  # no key configured: the keys ssh itself would use
                look_for_keys=key is None,
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
                channel_timeout=self.connect_timeout,
            )
        except paramiko.BadHostKeyException as error:
            raise HostKeyError(_changed_key_message(where, self.known_hosts, error)) from None
        except paramiko.AuthenticationException:
            raise HostError(
                f"authentication failed for {host.address} with "
                f"{self.key_path or 'the default SSH keys'} — is its public key in the "
                "host's authorized_keys?"
            ) from None
        except NoValidConnectionsError as error:
            causes = {_reason(cause) for cause in error.errors.values()}
            raise HostError(
                f"{host.address}: cannot connect: {', '.join(sorted(causes))}"
            ) from None
        except TimeoutError:
            raise HostError(
                f"{host.address}: cannot connect: no answer within {self.connect_timeout:g}s"
            ) from None
        except socket.gaierror as error:
            raise HostError(
                f"{host.address}: cannot resolve {host.host}: {error.strerror}"
            ) from None

    def _load_host_keys(self, client: paramiko.SSHClient, host: Host) -> None:
        if not os.path.exists(self.known_hosts):
            return  # every host is unknown, and refused as such
        try:
            client.load_system_host_keys(self.known_hosts)
        except (OSError, paramiko.SSHException) as error:
            raise HostError(
                f"{host.address}: cannot read {self.known_hosts}: {_reason(error)}"
            ) from error

    def _client_key(self, host: Host) -> paramiko.PKey | None:
        """Read once, on first use: a missing key file is reported per host, like a refusal."""
        if self.key_path is None:
            return None
        with self._key_lock:
            if self._key is None:
                self._key = _read_key(self.key_path, host.address)
            return self._key


class SshConnection:
    """One host, borrowed from the pool; ``close()`` gives it back for the next deploy."""

    def __init__(self, link: "_Link", release: Callable[["_Link"], None]) -> None:
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
                if not self._is_symlink(path):
                    return None
                raise

    def look(self, link: str, paths: Sequence[str]) -> tuple[str | None, list[bool]]:
        # The questions in flight at once; only a failed readlink needs a second look, as in
        # ``read_link`` (sftp-server does not say why it failed).
        with self._failing(f"look at {link}"):
            answers = _Pipeline(self._sftp).ask(
                [(CMD_READLINK, link), *((CMD_LSTAT, path) for path in paths)]
            )
            present = [_present(self._sftp, answer) for answer in answers[1:]]
            try:
                return _link_target(self._sftp, answers[0]), present
            except OSError:
                if not self._is_symlink(link):
                    return None, present
                raise

    def make_dirs(self, path: str) -> None:
        with self._failing(f"create {path}"):
            self._make_dirs(posixpath.normpath(path))

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
        chunks = iter(lambda: archive.read(_CHUNK), b"")
        result, sent = self._exec(command, stdin=chunks, timeout=_STEP_TIMEOUT)
        if not result.ok:
            raise HostError(f"{self.address}: unpack into {directory}: {_failure(result)}")
        return sent

    def verify(self, directory: str, sums: str) -> list[str]:
        if not parse_sums(sums, self.address):  # checked here: sha256sum would follow "../"
            return []  # and sha256sum calls an empty list an error
        command = f"cd {shlex.quote(directory)} && sha256sum --quiet -c -"
        result, _ = self._exec(command, stdin=[sums.encode()], timeout=_STEP_TIMEOUT, tail=None)
        bad = _failed_paths(result.output)
        if not result.ok and not bad:
            raise HostError(f"{self.address}: verify {directory}: {_failure(result)}")
        return bad

    def stage_tree(
        self,
        directory: str,
        *,
        base: str | None,
        remove: Sequence[str],
        archive: BinaryIO,
        sums: str,
    ) -> Unpacked:
        # One script, one channel. Its stdin carries the paths to remove, then the sums, then
        # the archive: ``head -c`` takes exactly its part, and tar reads the rest to the end.
        removals = b"".join(path_inside(path, self.address).encode() + b"\0" for path in remove)
        checks = sums.encode() if parse_sums(sums, self.address) else b""  # checked here too
        script = _staging_script(directory, base=base, removals=len(removals), sums=len(checks))
        chunks = iter(lambda: archive.read(_CHUNK), b"")
        result, sent = self._exec(
            script,
            stdin=itertools.chain([removals, checks], chunks),
            timeout=_STEP_TIMEOUT,
            tail=None,  # every "FAILED" line of sha256sum
            named=f"stage {directory}",
        )
        _raise_for_step(result, address=self.address, directory=directory, base=base)
        bad = _failed_paths(result.output)
        if not result.ok and not bad:
            raise HostError(f"{self.address}: verify {directory}: {_failure(result)}")
        return Unpacked(bytes_sent=max(0, sent - len(removals) - len(checks)), mismatched=bad)

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

    def symlink(self, target: str, path: str) -> None:
        # OpenSSH's sftp-server takes SSH_FXP_SYMLINK's two paths in the reverse of the draft's
        # order; paramiko's symlink(source, dest) sends them the way OpenSSH reads them, so
        # this makes ``path -> target`` (test_transports checks it against the real sshd).
        with self._failing(f"link {path} to {target}"):
            self._sftp.symlink(target, path)

    def rename(self, source: str, target: str) -> None:
        # Plain SFTP rename refuses an existing target; OpenSSH's extension is rename(2).
        with self._failing(f"rename {source} to {target}"):
            self._sftp.posix_rename(source, target)

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
            raise HostError(f"{self.address}: {what}: {_reason(error)}") from error
        self._link.mark_answered()

    def _is_symlink(self, path: str) -> bool:
        try:
            return stat.S_ISLNK(self._sftp.lstat(path).st_mode or 0)
        except FileNotFoundError:
            return False

    def _make_dirs(self, path: str) -> None:
        """``mkdir -p``, one SFTP request per missing level."""
        try:
            if stat.S_ISDIR(self._sftp.stat(path).st_mode or 0):
                return
            raise HostError(f"{self.address}: create {path}: it exists and is not a directory")
        except FileNotFoundError:
            pass
        parent = posixpath.dirname(path)
        if parent != path:
            self._make_dirs(parent)
        try:
            self._sftp.mkdir(path)
        except OSError:
            if not stat.S_ISDIR(self._sftp.stat(path).st_mode or 0):  # not made meanwhile
                raise

    def _remove_quietly(self, path: str) -> None:
        with suppress(OSError, EOFError, paramiko.SSHException):
            self._sftp.remove(path)

    def _command(self, what: str, command: str) -> None:
        result, _ = self._exec(command, timeout=_STEP_TIMEOUT)
        if not result.ok:
            raise HostError(f"{self.address}: {what}: {_failure(result)}")

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
            channel = self._link.open_channel(_STALL_TIMEOUT)
            try:
                channel.set_combine_stderr(True)  # one stream: no deadlock between two
                channel.exec_command(command)
                output = _Output(tail)
                sent = _feed(channel, stdin, output, deadline)
                channel.shutdown_write()
                _drain(channel, output, deadline)
                if not channel.status_event.wait(_remaining(deadline)):
                    raise TimeoutError  # the output closed, the command runs on
                status = channel.recv_exit_status()
            except TimeoutError:
                raise HostError(f"{self.address}: {what} timed out after {timeout:g}s") from None
            finally:
                channel.close()
        if status == -1 and not self._link.active():
            raise HostError(f"{self.address}: connection lost while running {what}")
        return CommandResult(status, output.text()), sent


@dataclass(eq=False)
class _Link:
    """One authenticated SSH connection and its SFTP session, owned by the pool."""

    address: str
    client: paramiko.SSHClient
    sftp: paramiko.SFTPClient
    answered_at: float | None = None  # time.monotonic() of the last step that went through

    def active(self) -> bool:
        transport = self.client.get_transport()
        return transport is not None and transport.is_active()

    def mark_answered(self) -> None:
        self.answered_at = time.monotonic()

    def answered_within(self, seconds: float) -> bool:
        """Answered a moment ago and still open: as good as the round trip of ``answers``."""
        if self.answered_at is None or not self.active():
            return False
        return time.monotonic() - self.answered_at < seconds

    def answers(self, timeout: float) -> bool:
        """One SFTP round trip: a connection to a host that died may still look active."""
        if not self.active():
            return False
        channel = self.sftp.get_channel()
        assert channel is not None
        channel.settimeout(timeout)
        try:
            self.sftp.normalize(".")
        except (OSError, EOFError, paramiko.SSHException):
            return False
        finally:
            channel.settimeout(_STALL_TIMEOUT)
        self.mark_answered()
        return True

    def open_channel(self, timeout: float) -> paramiko.Channel:
        transport = self.client.get_transport()
        if transport is None:
            raise HostError(f"{self.address}: the connection is closed")
        return transport.open_session(timeout=timeout)

    def close(self) -> None:
        self.client.close()


class _RefuseUnknown(paramiko.RejectPolicy):
    """``RejectPolicy``, with a message that tells the operator what to check and do."""

    def __init__(self, where: str, known_hosts: str) -> None:
        self.where = where
        self.known_hosts = known_hosts

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise HostKeyError(
            f"host key of {self.where} is not in {self.known_hosts} — add it with ssh-keyscan "
            f"after checking its fingerprint ({key.get_name()} {key.fingerprint})"
        )


def _changed_key_message(where: str, known_hosts: str, error: paramiko.BadHostKeyException) -> str:
    return (
        f"host key of {where} has CHANGED: {known_hosts} lists another key "
        f"({error.expected_key.fingerprint}, now offered: {error.key.fingerprint}) — if the host "
        "was rebuilt, check the new fingerprint and replace its line; otherwise someone may be "
        "intercepting the connection. Nothing was done."
    )


def _read_key(path: str, address: str) -> paramiko.PKey:
    """Errors name the file and the problem, never the key or a passphrase."""
    try:
        return paramiko.PKey.from_path(path)
    except paramiko.PasswordRequiredException:
        raise HostError(
            f"{address}: the SSH key {path} is protected by a passphrase; "
            "Andon needs a key without one"
        ) from None
    except OSError as error:
        raise HostError(f"{address}: cannot read the SSH key {path}: {_reason(error)}") from None
    except (paramiko.SSHException, ValueError) as error:
        raise HostError(
            f"{address}: {path} is not a private key Andon can use ({type(error).__name__})"
        ) from None


def _no_delay(transport: paramiko.Transport) -> None:
    """Small packets leave at once. With Nagle's algorithm a request sent while another packet
    is unacknowledged (pipelined SFTP requests, the first request after a channel closes) waits
    for the host's delayed ACK: 40 ms on Linux, longer than the request itself."""
    sock = transport.sock
    if isinstance(sock, socket.socket):  # not a proxy command's pipe
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _feed(
    channel: paramiko.Channel, chunks: Iterable[bytes], output: "_Output", deadline: float
) -> int:
    """Send stdin, reading output between chunks; stops early when the command stops reading."""
    sent = 0
    for chunk in chunks:
        while chunk:
            channel.settimeout(_remaining(deadline))
            try:
                count = channel.send(chunk)
            except TimeoutError:
                raise
            except OSError:  # the command exited (tar failed): its output says why
                return sent
            if count == 0:
                return sent
            sent += count
            chunk = chunk[count:]
            while channel.recv_ready():
                output.add(channel.recv(_CHUNK))
    return sent


def _drain(channel: paramiko.Channel, output: "_Output", deadline: float) -> None:
    while True:
        channel.settimeout(_remaining(deadline))
        chunk = channel.recv(_CHUNK)
        if not chunk:
            return
        output.add(chunk)


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    return remaining


class _Output:
    """A command's combined output; only its tail when ``limit`` is set."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if self.limit is not None and len(self.data) > 8 * self.limit:
            del self.data[: -4 * self.limit]  # 4 bytes per character at most in UTF-8

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        return text if self.limit is None else text[-self.limit :]


class _Pipeline:
    """Several SFTP requests in flight at once, so they cost one round trip between them.

    paramiko answers a request synchronously; this uses the two calls its own
    ``SFTPFile.prefetch`` keeps many reads in flight with (``_async_request``, and
    ``_read_response`` handing each answer to the object that asked).
    """

    def __init__(self, sftp: paramiko.SFTPClient) -> None:
        self._sftp = sftp
        self._answers: dict[int, tuple[int, Message]] = {}

    def ask(self, requests: Iterable[tuple[int, str]]) -> list[tuple[int, Message]]:
        """The answers (type and message), in the order of ``requests``."""
        numbers = [
            self._sftp._async_request(self, command, path)  # paramiko-private: see the class
            for command, path in requests
        ]
        while any(number not in self._answers for number in numbers):
            self._sftp._read_response()  # one answer, to _async_response
        return [self._answers.pop(number) for number in numbers]

    def _async_response(self, kind: int, message: Message, number: int) -> None:
        self._answers[number] = (kind, message)


def _raise_status(sftp: paramiko.SFTPClient, answer: tuple[int, Message], expected: int) -> None:
    """An error status becomes the ``OSError`` paramiko raises for it (ENOENT: not found)."""
    kind, message = answer
    if kind == CMD_STATUS:
        sftp._convert_status(message)  # paramiko's own errno mapping
    if kind != expected:
        raise paramiko.SFTPError(f"unexpected SFTP answer {kind}, expected {expected}")


def _present(sftp: paramiko.SFTPClient, answer: tuple[int, Message]) -> bool:
    try:
        _raise_status(sftp, answer, CMD_ATTRS)
    except FileNotFoundError:
        return False
    return True


def _link_target(sftp: paramiko.SFTPClient, answer: tuple[int, Message]) -> str | None:
    """What ``SFTPClient.readlink`` makes of its answer; a failure raises its ``OSError``."""
    _raise_status(sftp, answer, CMD_NAME)
    message = answer[1]
    return message.get_text() if message.get_int() == 1 else None


# Exit statuses of the staging script's own steps; sha256sum's 0 or 1 is the last one's.
_AT_COPY, _AT_REMOVE, _AT_UNPACK, _AT_SUMS = 81, 82, 83, 84


def _staging_script(directory: str, *, base: str | None, removals: int, sums: int) -> str:
    """The host side of ``stage_tree``: a POSIX shell script, every path quoted.

    It never changes its own directory (only its subshells do): a relative path, like every
    other path of the port, is relative to the SSH user's home.
    """
    at = shlex.quote(directory)
    lines = ["exec 2>&1"]
    if base is None:
        lines.append(f"mkdir -p -- {at} || exit {_AT_COPY}")
    else:  # cp would nest the copy inside an existing directory: refuse, as link_copy does
        lines.append(f"if [ -e {at} ] || [ -h {at} ]; then echo 'File exists'; exit {_AT_COPY}; fi")
        lines.append(f"cp -al -- {shlex.quote(base)} {at} || exit {_AT_COPY}")
    if removals:
        lines.append(f"(cd {at} && head -c {removals} | xargs -0 rm -f --) || exit {_AT_REMOVE}")
    if sums:
        # Next to the directory, and removed on the way out: the sums never enter the release.
        pattern = shlex.quote(f"{directory}.sums.XXXXXX")
        lines.append(f"sums=$(mktemp {pattern}) || exit {_AT_SUMS}")
        lines.append("trap 'rm -f -- \"$sums\"' EXIT")
        lines.append(f'head -c {sums} > "$sums" || exit {_AT_SUMS}')
    # GNU tar replaces a file in the way by a new inode (see ``unpack``).
    lines.append(f"tar -xzf - --no-same-owner -C {at} || exit {_AT_UNPACK}")
    if sums:
        lines.append(f'(cd {at} && sha256sum --quiet -c -) < "$sums"')
    return "\n".join(lines)


def _raise_for_step(
    result: CommandResult, *, address: str, directory: str, base: str | None
) -> None:
    """A step of the staging script failed: named as the separate calls would name it."""
    steps = {
        _AT_COPY: f"link-copy {base} to {directory}" if base else f"create {directory}",
        _AT_REMOVE: f"remove files in {directory}",
        _AT_UNPACK: f"unpack into {directory}",
        _AT_SUMS: f"verify {directory}",
    }
    step_name = steps.get(result.status)
    if step_name is not None:
        output = result.output.strip()[-OUTPUT_TAIL:]
        raise HostError(f"{address}: {step_name}: {output or f'exit status {result.status}'}")


def _failed_paths(output: str) -> list[str]:
    """``sha256sum -c`` prints ``path: FAILED`` or ``path: FAILED open or read`` per bad file."""
    bad: list[str] = []
    for line in output.splitlines():
        for suffix in (": FAILED", ": FAILED open or read"):
            if line.endswith(suffix):
                bad.append(line[: -len(suffix)])
    return bad


def _failure(result: CommandResult) -> str:
    output = result.output.strip()
    return f"exit status {result.status}" + (f": {output}" if output else "")


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
