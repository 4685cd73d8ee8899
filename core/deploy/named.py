"""What a request names: an environment of andon.toml and a revision of the line's repository.

Both are found before anything is recorded; what cannot be found is refused in words that say
what there is instead — the environments, the likeliest one meant — never the server's paths.
"""

import difflib
from dataclasses import dataclass

from core.config.file import AndonConfig
from core.deploy.source import Source, SourceError, plausible
from core.deploy.state import DeployKind
from core.refusal import Refusal


@dataclass(frozen=True)
class ChooseEnvironment:
    """No environment named, and there are several: the person is asked which."""

    kind: DeployKind
    names: tuple[str, ...]
    verb: str = ""  # ``resume``: what the answer is to be typed after the command


def environment_named(
    config: AndonConfig, name: str | None, kind: DeployKind
) -> str | ChooseEnvironment | Refusal:
    """The environment a request means: the one named, or the only one there is."""
    names = tuple(config.environments)
    if not names:
        return Refusal(
            "No environments are configured — add `[environments.<name>]` to andon.toml."
        )
    if name is None:
        return names[0] if len(names) == 1 else ChooseEnvironment(kind, names)
    if name not in config.environments:
        return Refusal(f"{name!r} is not an environment; there are: {', '.join(names)}.")
    return name


def revision_named(spelled: str, *, source: Source | None, config: AndonConfig) -> str | Refusal:
    """The full sha of a revision as a person spelled it (a sha, a branch or a tag)."""
    if source is None or config.repo is None:
        return Refusal("Deploys are cut from `[repo] path`, and andon.toml has none.")
    if not plausible(spelled):
        return Refusal(f"{spelled[:60]!r} is not a revision: give a sha, a branch or a tag.")
    try:
        sha = source.resolve(spelled)
    except SourceError as error:
        return Refusal(str(error))
    if sha is None:
        return Refusal(_unknown(spelled, list(config.environments)))
    return sha


def _unknown(spelled: str, environments: list[str]) -> str:
    """Neither a revision of the line's repository nor an environment: say which exist, and the
    likeliest meant (never the server's paths)."""
    said = f"{spelled[:60]!r} is neither a revision of the line's repository nor an environment"
    if not environments:
        return f"{said}: give a sha, a branch or a tag."
    close = difflib.get_close_matches(spelled, environments, n=1, cutoff=0.6)
    meant = f" Did you mean `{close[0]}`?" if close else ""
    return f"{said}; the environments are {', '.join(environments)}.{meant}"
