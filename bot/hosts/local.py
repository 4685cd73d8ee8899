"""``hosts = ["local"]``: the deploy port on this machine's own filesystem, without SSH."""

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import tarfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import BinaryIO

from core.config.hosts import LOCAL, Host
from core.deploy import manifest_delta
from core.deploy.transport import (
    OUTPUT_TAIL,
    CommandResult,
    Connection,
    HostError,
    Later,
    Patch,
    Unpacked,
    parse_sums,
    path_inside,
    removable,
)

_CHUNK = 1 << 16


class LocalTransport:
    """Connects only to the ``local`` host; there is nothing to keep open."""

    def connect(self, host: Host) -> Connection:
        if not host.is_local:
            raise HostError(f"{host.address} is not local: it needs the SSH transport")
        return LocalConnection()

    def close(self) -> None:
        pass


class LocalConnection:
    """Each method mirrors its SSH counterpart, so a local deploy rehearses a remote one."""

    address = LOCAL

    def read_text(self, path: str) -> str | None:
        with _failing(f"read {path}"):
            try:
                with open(path, "rb") as file:
                    return file.read().decode("utf-8", errors="replace")
            except FileNotFoundError:
                return None

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def list_dir(self, path: str) -> list[str]:
        with _failing(f"list {path}"):
            try:
                return sorted(os.listdir(path))
            except FileNotFoundError:
                return []

    def read_link(self, path: str) -> str | None:
        with _failing(f"read link {path}"):
            try:
                return os.readlink(path)
            except (FileNotFoundError, NotADirectoryError):
                return None
            except OSError as error:
                if error.errno == errno.EINVAL:  # there is a file, but not a symlink
                    return None
                raise

    def look(self, link: str, paths: Sequence[str]) -> tuple[str | None, list[bool]]:
        return self.read_link(link), [self.exists(path) for path in paths]

    def look_soon(self, link: str, paths: Sequence[str]) -> Later[tuple[str | None, list[bool]]]:
        return Later(lambda: self.look(link, paths))

    def make_dirs(self, path: str) -> None:
        with _failing(f"create {path}"):
            os.makedirs(path, exist_ok=True)

    def link_copy(self, source: str, target: str) -> None:
        # Hard links make a new release cost no space for the files it shares with the last one.
        with _failing(f"link-copy {source} to {target}"):
            shutil.copytree(source, target, symlinks=True, copy_function=os.link)

    def remove_tree(self, path: str) -> None:
        target = removable(path)
        with _failing(f"remove {path}"):
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            elif os.path.lexists(target):
                os.unlink(target)

    def remove_files(self, root: str, paths: Sequence[str]) -> None:
        for path in paths:
            with _failing(f"remove {path} in {root}"), suppress(FileNotFoundError):
                os.unlink(os.path.join(root, path_inside(path)))

    def unpack(self, directory: str, archive: BinaryIO) -> int:
        if not os.path.isdir(directory):  # as ``tar -C`` fails on the SSH side
            raise HostError(f"{LOCAL}: unpack into {directory}: no such directory")
        counted = _Counting(archive)
        with _failing(f"unpack into {directory}"), tarfile.open(fileobj=counted, mode="r|*") as tar:
            # extractall, unlike extract, sets directory modes last, as tar does.
            tar.extractall(directory, members=_unlinked_first(tar, directory), filter="data")
        while counted.read(_CHUNK):  # the tar end blocks, counted like the SSH transport does
            pass
        return counted.count

    def verify(self, directory: str, sums: str) -> list[str]:
        if not os.path.isdir(directory):  # as ``cd`` fails on the SSH side
            raise HostError(f"{LOCAL}: verify {directory}: no such directory")
        return [
            path
            for digest, path in parse_sums(sums)
            if _sha256(os.path.join(directory, path)) != digest
        ]

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
        # Nothing to save locally: the same steps, so a local deploy fails where a remote would.
        if patch:
            path_inside(patch.name)  # refused before anything is made, as over SSH
        if base is None:
            self.make_dirs(directory)
        else:
            self.link_copy(base, directory)  # copytree refuses an existing directory
        self.remove_files(directory, remove)
        sent = self.unpack(directory, archive)
        if patch and base is not None:
            _patch(directory, base=base, patch=patch)
            sent += len(patch.edits.encode())
        return Unpacked(bytes_sent=sent, mismatched=self.verify(directory, sums))

    def write_text(self, path: str, text: str) -> None:
        # A new inode, renamed into place: the old file may be hard-linked into another release.
        temporary = f"{path}.{uuid.uuid4().hex}.tmp"
        with _failing(f"write {path}"):
            try:
                with open(temporary, "w", encoding="utf-8") as file:
                    file.write(text)
                os.replace(temporary, path)
            finally:
                if os.path.lexists(temporary):
                    os.unlink(temporary)

    def rename(self, source: str, target: str) -> None:
        with _failing(f"rename {source} to {target}"):
            os.replace(source, target)

    def repoint(self, link: str, target: str, *, through: str) -> None:
        with _failing(f"point {link} at {target}"):
            os.symlink(target, through)
            try:
                os.replace(through, link)
            except BaseException:
                os.unlink(through)
                raise

    def repoint_soon(self, link: str, target: str, *, through: str) -> Later[None]:
        return Later(lambda: self.repoint(link, target, through=through))

    def run(self, command: str, *, cwd: str, timeout: float) -> CommandResult:
        with _failing(f"run in {cwd}"):
            process = subprocess.Popen(
                ["sh", "-c", command],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so a timeout kills it all
                env=_without_andons_settings(),
            )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise HostError(f"{LOCAL}: {command!r} timed out after {timeout:g}s") from None
        text = output.decode("utf-8", errors="replace")
        return CommandResult(process.returncode, text[-OUTPUT_TAIL:])

    def close(self) -> None:
        pass


def _patch(directory: str, *, base: str, patch: Patch) -> None:
    """As the SSH side's awk: a new inode, or no file when the edits do not fit the base's."""
    name = path_inside(patch.name)
    new = os.path.join(directory, name)
    with _failing(f"patch {new}"), suppress(FileNotFoundError):
        os.unlink(new)  # its twin in the base stays as it was
    try:
        with open(os.path.join(base, name), encoding="utf-8", newline="") as file:
            text = manifest_delta.applied(file.read(), patch.edits)
    except (OSError, UnicodeDecodeError, ValueError):
        return
    with _failing(f"patch {new}"), open(new, "x", encoding="utf-8", newline="") as file:
        file.write(text)


def _without_andons_settings() -> dict[str, str]:
    """A host's commands run as on any host: none of Andon's settings and secrets with them."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith(("ANDON_", "SLACK_"))}


@contextmanager
def _failing(what: str) -> Iterator[None]:
    """An ``OSError`` becomes the ``HostError`` the engine expects, naming what was attempted."""
    try:
        yield
    except (OSError, shutil.Error, tarfile.TarError) as error:
        raise HostError(f"{LOCAL}: {what}: {_reason(error)}") from error


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _unlinked_first(tar: tarfile.TarFile, directory: str) -> Iterator[tarfile.TarInfo]:
    """Never write into an existing inode: it may be a hard link shared with the live release."""
    for member in tar:
        destination = os.path.join(directory, path_inside(member.name))
        if not member.isdir() and os.path.lexists(destination) and not os.path.isdir(destination):
            os.unlink(destination)
        yield member


def _sha256(path: str) -> str | None:
    """``None`` when the file cannot be read: missing counts as differing."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            while chunk := file.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a daemonized grandchild still holds the pipe
        if process.stdout is not None:
            process.stdout.close()
        process.wait()


class _Counting:
    """A read-only stream that counts the bytes taken from the archive."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data
