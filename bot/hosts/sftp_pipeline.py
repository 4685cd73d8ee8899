"""Several SFTP requests in flight at once: a look at a host costs one round trip."""

from collections.abc import Iterable
from typing import Any

import paramiko
from paramiko.message import Message
from paramiko.sftp import CMD_ATTRS, CMD_NAME, CMD_STATUS

POSIX_RENAME = "posix-rename@openssh.com"  # OpenSSH's rename(2), replacing the target


class Pipeline:
    """Several SFTP requests in flight at once, so they cost one round trip between them.

    paramiko answers a request synchronously; this uses the two calls its own
    ``SFTPFile.prefetch`` keeps many reads in flight with (``_async_request``, and
    ``_read_response`` handing each answer to the object that asked).
    """

    def __init__(self, sftp: paramiko.SFTPClient) -> None:
        self._sftp = sftp
        self._answers: dict[int, tuple[int, Message]] = {}

    def ask(self, requests: Iterable[tuple[Any, ...]]) -> list[tuple[int, Message]]:
        """The answers (type and message), in the order of ``requests`` (each a command and
        its arguments)."""
        return self.send(requests).answers()

    def send(self, requests: Iterable[tuple[Any, ...]]) -> "Asked":
        """Send ``requests`` now; ``answers()`` reads them when the caller is ready."""
        numbers = [
            self._sftp._async_request(self, command, *arguments)  # paramiko-private: see above
            for command, *arguments in requests
        ]
        return Asked(self, numbers)

    def answers(self, numbers: list[int]) -> list[tuple[int, Message]]:
        while any(number not in self._answers for number in numbers):
            self._sftp._read_response()  # one answer, to _async_response
        return [self._answers.pop(number) for number in numbers]

    def _async_response(self, kind: int, message: Message, number: int) -> None:
        self._answers[number] = (kind, message)


class Asked:
    """Requests in flight on one connection, answered in the order they were sent."""

    def __init__(self, pipeline: Pipeline, numbers: list[int]) -> None:
        self._pipeline, self._numbers = pipeline, numbers

    def answers(self) -> list[tuple[int, Message]]:
        return self._pipeline.answers(self._numbers)


def _raise_status(sftp: paramiko.SFTPClient, answer: tuple[int, Message], expected: int) -> None:
    """An error status becomes the ``OSError`` paramiko raises for it (ENOENT: not found)."""
    kind, message = answer
    if kind == CMD_STATUS:
        sftp._convert_status(message)  # paramiko's own errno mapping
    if kind != expected:
        raise paramiko.SFTPError(f"unexpected SFTP answer {kind}, expected {expected}")


def succeeded(sftp: paramiko.SFTPClient, answer: tuple[int, Message]) -> None:
    """A request that answers with a status only: an error raises its ``OSError``."""
    _raise_status(sftp, answer, CMD_STATUS)


def path_found(sftp: paramiko.SFTPClient, answer: tuple[int, Message]) -> bool:
    """What ``lstat`` answered: the path exists, or not found; any other error raises."""
    try:
        _raise_status(sftp, answer, CMD_ATTRS)
    except FileNotFoundError:
        return False
    return True


def link_target(sftp: paramiko.SFTPClient, answer: tuple[int, Message]) -> str | None:
    """What ``SFTPClient.readlink`` makes of its answer; a failure raises its ``OSError``."""
    _raise_status(sftp, answer, CMD_NAME)
    message = answer[1]
    return message.get_text() if message.get_int() == 1 else None
