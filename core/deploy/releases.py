"""Release directories on one host: stage ``releases/<sha>``, flip ``current``, prune the old.

Every step leaves the host in a state a reader can live with: a release directory exists only
once complete (``.partial`` is renamed at the end), and ``current`` is replaced by ``rename(2)``
so it never points at nothing.
"""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from core.deploy import manifest, manifest_delta
from core.deploy.bundle import ANDON_FILES, Bundle
from core.deploy.source import is_sha
from core.deploy.transport import Connection, HostError, Later, Patch

RELEASES = "releases"
CURRENT = "current"


@dataclass(frozen=True)
class Staged:
    """What travelled to the host; ``reused`` when the release was already there, intact."""

    files_sent: int
    bytes_sent: int
    reused: bool = False


def release_dir(path: str, revision: str) -> str:
    return f"{path}/{RELEASES}/{revision}"


def live_revision(connection: Connection, path: str) -> str | None:
    """The sha ``current`` points at, or ``None`` when the host has none."""
    return _revision_in(connection.read_link(f"{path}/{CURRENT}"))


def look_up(connection: Connection, path: str, revision: str) -> tuple[str | None, bool]:
    """The live revision, and whether ``revision``'s release is on the host, in one question:
    a rollback asks it of every host before it flips any, so it is a round trip of every
    rollback."""
    return look_up_soon(connection, path, revision).result()


def look_up_soon(
    connection: Connection, path: str, revision: str
) -> Later[tuple[str | None, bool]]:
    """``look_up``, asked now and answered later."""
    asked = connection.look_soon(f"{path}/{CURRENT}", [_manifest_path(path, revision)])

    def answered() -> tuple[str | None, bool]:
        target, (present,) = asked.result()
        return _revision_in(target), present

    return Later(answered)


def _revision_in(target: str | None) -> str | None:
    name = target.rstrip("/").rsplit("/", 1)[-1] if target else ""
    return name if is_sha(name) else None


def stage(connection: Connection, path: str, bundle: Bundle) -> Staged:
    """Put the release on the host, complete and checksum-verified, without touching ``current``.

    The new directory starts as a hard-linked copy of the live release; files that change are
    unlinked before the new ones arrive, so no older release ever sees its inode modified.
    """
    final = release_dir(path, bundle.revision)
    connection.make_dirs(f"{path}/{RELEASES}")
    if connection.exists(final):
        if not connection.verify(final, manifest.sums(bundle.manifest)):
            return Staged(0, 0, reused=True)
        connection.remove_tree(final)  # damaged on the host: rebuilt rather than trusted
    partial = f"{final}.partial"
    staged, mismatched = _upload(connection, path, partial, bundle, delta=True)
    if mismatched == [manifest.FILE_NAME]:  # the host could not patch it: sent whole instead
        staged, mismatched = _upload(connection, path, partial, bundle, delta=True, patch=False)
    if mismatched:  # the live release was damaged in place: send everything
        staged, mismatched = _upload(connection, path, partial, bundle, delta=False)
        if mismatched:
            raise HostError(f"checksums differ after upload: {', '.join(mismatched[:3])}")
    connection.rename(partial, final)
    return staged


def _upload(
    connection: Connection,
    path: str,
    partial: str,
    bundle: Bundle,
    *,
    delta: bool,
    patch: bool = True,
) -> tuple[Staged, list[str]]:
    """Build ``partial`` — from the live release and only what changed, when ``delta`` and
    there is one, its manifest patched from the live one's when ``patch`` — and check every
    file of it, the manifest too; returns the files that do not match."""
    if connection.exists(partial):
        connection.remove_tree(partial)  # left over from an interrupted deploy
    live = live_revision(connection, path) if delta else None
    listed = _manifest_text(connection, path, live) if live and live != bundle.revision else None
    old = manifest.loads(listed)
    base = release_dir(path, live) if old is not None and live is not None else None
    changed, deleted = manifest.changes(old or {}, bundle.manifest)
    # Unlinked before the new files arrive, so no older release ever sees its inode modified.
    remove = [*changed, *deleted, *ANDON_FILES] if base is not None else []
    listing = bundle.listing()
    edits = manifest_delta.edits(listed, listing) if base is not None and patch else None
    archive, files = bundle.archive(changed, with_manifest=edits is None)
    sums = manifest.sums(bundle.manifest) + manifest.sum_line(listing)
    with archive.open("rb") as stream:
        done = connection.stage_tree(
            partial,
            base=base,
            remove=remove,
            archive=stream,
            sums=sums,
            patch=Patch(manifest.FILE_NAME, edits) if edits is not None else None,
        )
    return Staged(files_sent=files, bytes_sent=done.bytes_sent), done.mismatched


def _manifest_text(connection: Connection, path: str, revision: str) -> str | None:
    return connection.read_text(_manifest_path(path, revision))


def _manifest_path(path: str, revision: str) -> str:
    return f"{release_dir(path, revision)}/{manifest.FILE_NAME}"


def activate(connection: Connection, path: str, revision: str | None) -> None:
    """Point ``current`` at a release atomically; ``None`` removes it (the host had none)."""
    activate_soon(connection, path, revision).result()


def activate_soon(connection: Connection, path: str, revision: str | None) -> Later[None]:
    """``activate``, asked now and answered later."""
    if revision is None:
        connection.remove_files(path, [CURRENT])
        return Later(lambda: None)
    temporary = f"{path}/.{CURRENT}.{revision[:12]}.{secrets.token_hex(4)}"
    return connection.repoint_soon(f"{path}/{CURRENT}", f"{RELEASES}/{revision}", through=temporary)


def prune(
    connection: Connection, path: str, *, keep: int, protect: set[str], newest: Sequence[str]
) -> list[str]:
    """Remove all but ``keep`` releases; ``protect`` (current, previous) always stays.

    ``newest`` orders the revisions Andon knows, newest first; unknown ones count as oldest.
    """
    present = [name for name in connection.list_dir(f"{path}/{RELEASES}") if is_sha(name)]
    rank = {revision: index for index, revision in enumerate(newest)}
    ordered = sorted(present, key=lambda name: rank.get(name, len(rank)))
    kept = set(protect)
    for name in ordered:
        if len(kept) >= keep:
            break
        kept.add(name)
    removed = [name for name in ordered if name not in kept]
    for name in removed:
        connection.remove_tree(release_dir(path, name))
    return removed
