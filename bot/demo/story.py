"""The story ``andon demo`` tells: one stop of the line and one page, start to finish.

Each step goes through a real front — ``git push`` against the gate hook, signed webhooks to the
HTTP endpoints, people typing in the terminal front — and what follows its heading is what the
channel (and a DM) shows, as the terminal chat prints it.
"""

import itertools
import subprocess
from collections.abc import Iterable

from bot.demo.floor import Floor
from bot.demo.stage import ONCALL, Repo, Stage
from core.alerts import oncall
from core.line import current
from storage.tables import Stoppage

BROKEN_TEST = "tests/test_signup.py::test_signup_without_phone"
FIX_REASON = "sign-up works without a phone number again"
WHYS = (
    "the sign-up form now requires a phone number",
    "the ticket said every new account needs one",
    "nobody asked whether anything signs up without a phone",
    "sign-up has no owner who reviews changes to it",
    "we never invested in owners for the core flows",
)
INVESTMENTS = (
    "1: none: the test caught it, as it should",
    "2: add 'who relies on this?' to the ticket template #process",
    "3: a contract test for every way into sign-up #tests",
    "4: name an owner for sign-up in CODEOWNERS #commit",
    "5: a sign-up smoke check after every deploy #alerting",
)
SIGNUP = "<form>e-mail <input name=email> phone (optional) <input name=phone></form>\n"


class Story:
    """Tells the steps in order; each heading is numbered as it is printed."""

    def __init__(self, *, stage: Stage, floor: Floor, repo: Repo) -> None:
        self._stage, self._floor, self._repo = stage, floor, repo
        self._steps = itertools.count(1)
        self._people = {name: floor.person(name) for name in ONCALL}

    def tell(self) -> None:
        good = self.a_push()
        self.a_green_build(good)
        self.an_automatic_deploy()
        self.a_red_build()
        self.a_refused_push()
        self.an_override()
        self.the_five_whys()
        self.the_line_starts()
        self.a_deploy()
        self.a_page()
        self.a_rollback()

    # --- the steps ---------------------------------------------------------------------------

    def a_push(self) -> str:
        self.heading("A push to main: the line runs, so the gate lets it in")
        revision = self._repo.commit(
            "Add the sign-up page", {"index.html": "<h1>Welcome</h1>\n", "signup.html": SIGNUP}
        )
        self.push()
        return revision

    def a_green_build(self, revision: str) -> None:
        self.heading("A green build: CI reports it through the generic CI webhook")
        self.ci(revision, "passed")

    def an_automatic_deploy(self) -> None:
        self.heading("An automatic deploy: auto_deploy ships every green build of main")
        self._floor.settle(deploys=1)
        self.live()

    def a_red_build(self) -> None:
        self.heading("A red build stops the line, and its five whys opens in the thread")
        revision = self._repo.commit(
            "Ask for a phone number at sign-up",
            {"signup.html": SIGNUP.replace("phone (optional)", "phone (required)")},
        )
        self.push()
        self.ci(revision, "failed", failed_tests=[BROKEN_TEST])

    def a_refused_push(self) -> None:
        self.heading("A stopped line refuses a push")
        self._repo.commit("Make the phone number optional again", {"signup.html": SIGNUP})
        self.push()

    def an_override(self) -> None:
        self.heading("A fix may pass: the Line-Fix trailer, announced in the thread")
        fix = self._repo.amend(f"Make the phone number optional again\n\nLine-Fix: {FIX_REASON}\n")
        self.say("dana", "git commit --amend  # adds the trailer Line-Fix: " + FIX_REASON)
        self.push()
        self.ci(fix, "passed")
        self.note("Green, but auto-deploy waits: nothing ships while the line is stopped.")

    def the_five_whys(self) -> None:
        self.heading("The five whys, answered in the thread; an investment at each level")
        thread = self.thread()
        for person, text in zip(itertools.cycle(("maria", "lee")), WHYS, strict=False):
            self.type(person, f"#{thread} because {text}")
        for investment in INVESTMENTS:
            self.type("maria", f"#{thread} {investment}")

    def the_line_starts(self) -> None:
        self.heading("/line start: the five whys is done, so the line runs again")
        self.type("maria", "/line start")

    def a_deploy(self) -> None:
        self.heading("A deploy: /deploy ships the head of main, the fix")
        self.type("maria", "/deploy")
        self._floor.settle(deploys=2)
        self.live()

    def a_page(self) -> None:
        self.heading("A page after it: an alert pages the on-call by DM and stops the line")
        answer = self._floor.webhook(
            "/hooks/alerts/generic",
            {
                "name": "signups_low",
                "status": "firing",
                "severity": "critical",
                "summary": "sign-ups fell to 0 in the last 10 minutes",
                "value": 0.0,
            },
        )
        self.posted(
            sender="monitoring",
            path="/hooks/alerts/generic",
            what="signups_low firing",
            status=answer.status_code,
        )
        self._floor.deliver()

    def a_rollback(self) -> None:
        self.heading("A rollback: current flips back to the release before")
        self.type(self._oncall(), "/rollback")
        self._floor.settle(deploys=3)
        self.live()
        self.note(
            f"The line stays stopped until the five whys in thread #{self.thread()} is done "
            "or scheduled."
        )

    # --- the fronts --------------------------------------------------------------------------

    def push(self) -> None:
        """``git push origin main``, with everything git printed — the hook's refusal included."""
        self.say("dana", "git push origin main")
        done = self._repo.push()
        self.show(_git_lines(done))
        self._floor.deliver()  # an override is announced by the hook, through the outbox

    def ci(self, revision: str, status: str, **fields: object) -> None:
        payload = {
            "revision": revision,
            "branch": "main",
            "status": status,
            "pipeline": "tests",
            "run_id": revision[:8],
            **self._repo.about(revision),
            **fields,
        }
        answer = self._floor.webhook("/hooks/ci/generic", payload)
        what = f"tests {status} on {revision[:7]}"
        self.posted(sender="CI", path="/hooks/ci/generic", what=what, status=answer.status_code)
        self._floor.deliver()

    def type(self, person: str, text: str) -> None:
        """``person`` types ``text`` in the terminal front, as in ``andon shell``.

        A thread reply is echoed by the shell itself, as the thread shows it; a command is not.
        """
        if not text.startswith("#"):
            self.say(person, text, prompt=">")
        self._people[person].handle(text)

    # --- what the reader sees ----------------------------------------------------------------

    def heading(self, title: str) -> None:
        print(f"\n── {next(self._steps)}. {title}", flush=True)

    def say(self, person: str, command: str, *, prompt: str = "$") -> None:
        print(f"{person}{prompt} {command}", flush=True)

    def note(self, text: str) -> None:
        print(f"   ({text})", flush=True)

    def posted(self, *, sender: str, path: str, what: str, status: int) -> None:
        """A webhook as its sender sent it, and what Andon answered."""
        print(f"{sender} → POST {path}  {what}  → HTTP {status}", flush=True)

    def show(self, lines: Iterable[str]) -> None:
        for line in lines:
            print(f"   {line}", flush=True)

    def live(self) -> None:
        """What the host itself says: where ``current`` points."""
        current = self._stage.hosts / "current"
        revision = (current / "REVISION").read_text().strip() if current.exists() else "nothing"
        self.note(f"on the host: current/REVISION is {revision[:7]}")

    # --- what the story needs to know --------------------------------------------------------

    def thread(self) -> int:
        """The number of the open stoppage's announcement: replies to it are the five whys."""
        andon = self._floor.andon
        with andon.database.reading() as session:
            opened = current(session).stoppage_id
            row = session.get(Stoppage, opened) if opened is not None else None
            if row is None or row.announcement_id is None:
                raise RuntimeError("the line should be stopped here, and it is not")
            return row.announcement_id

    def _oncall(self) -> str:
        """Whoever the rotation pages this week: the one who rolls back."""
        andon = self._floor.andon
        with andon.database.reading() as session:
            shift = oncall.now(session, andon.config.oncall, andon.clock.now())
        return shift.user if shift is not None else ONCALL[0]


def _git_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    """Git's own words (it writes them to stderr), blank lines dropped."""
    return [line.rstrip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
