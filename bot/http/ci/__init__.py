"""Each CI's webhook body read into one BuildReport (or a review head), so ``core`` hears every
CI alike."""

from collections.abc import Callable, Mapping

from bot.http.ci import buildbot, generic, github, gitlab, jenkins
from core.ci.report import BuildReport, Ignored
from core.review import ReviewEvent

Reader = Callable[[Mapping[str, str], object], BuildReport | ReviewEvent | Ignored]

NOT_JSON: dict[str, str] = {"buildbot": buildbot.NOT_JSON}
"""What a sender needs to send JSON, said when it sent none."""

READERS: dict[str, Reader] = {
    "github": github.read,
    "gitlab": gitlab.read,
    "buildbot": buildbot.read,
    "jenkins": jenkins.read,
    "generic": generic.read,
}
