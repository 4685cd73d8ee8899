"""A real Buildbot master and worker (the ``conformance`` extra) as child processes: a GitPoller
on a local repository, one builder that runs its tests, and the ``HttpStatusPush`` reporter
taken word for word from docs/ci.md with Andon's URL and secret put in."""

import re
import sys
from pathlib import Path

import pytest

from tests.conformance.senders import Child
from tests.harness import free_port
from tests.waiting import eventually

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
BIN = Path(sys.executable).parent
BUILDER = "app"

MASTER_CFG = """\
from buildbot.plugins import changes, schedulers, steps, util, worker

c = BuildmasterConfig = {{}}
c["workers"] = [worker.Worker("w1", "pass")]
c["protocols"] = {{"pb": {{"port": "tcp:{port}:interface=127.0.0.1"}}}}
c["change_source"] = [
    changes.GitPoller(
        repourl={repo!r}, branches=["main"], pollInterval=1, pollAtLaunch=True,
        workdir="gitpoller-work",
    )
]
c["schedulers"] = [
    schedulers.SingleBranchScheduler(
        name="main", change_filter=util.ChangeFilter(branch="main"), treeStableTimer=None,
        builderNames=[{builder!r}],
    )
]
c["builders"] = [
    util.BuilderConfig(
        name={builder!r},
        workernames=["w1"],
        factory=util.BuildFactory([
            steps.Git(repourl={repo!r}, mode="full", method="clobber"),
            steps.ShellCommand(name="tests", command=["python3", "-m", "unittest", "-v"]),
        ]),
    )
]
c["db"] = {{"db_url": "sqlite:///state.sqlite"}}
c["buildbotNetUsageData"] = None
c["title"] = "app"
c["buildbotURL"] = "http://127.0.0.1:8010/"

# docs/ci.md, as written:
{reporter}
"""


def documented_reporter(*, andon: str, secret: str) -> str:
    """The ``master.cfg`` lines docs/ci.md shows for Buildbot, with the URL and secret filled."""
    section = DOCS.read_text().split("## Buildbot", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert block is not None, "docs/ci.md shows no master.cfg for Buildbot"
    text = block.group(1)
    assert "https://andon.example.com" in text and "<the webhook secret>" in text
    return text.replace("https://andon.example.com", andon).replace("<the webhook secret>", secret)


class Buildbot:
    """A master and one worker building ``repo`` (a ``file://`` URL) on every push to main."""

    def __init__(self, root: Path, *, repo: str, andon: str, secret: str) -> None:
        buildbot, buildbot_worker = BIN / "buildbot", BIN / "buildbot-worker"
        if not buildbot.exists() or not buildbot_worker.exists():
            pytest.skip("buildbot is not installed (pip install -e '.[conformance]')")
        root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        master, worker = root / "master", root / "worker"
        env = {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": str(root)}
        created = Child(
            [str(buildbot), "create-master", "-q", str(master)],
            log=root / "create.log",
            cwd=root,
            env=env,
        )
        assert created.process.wait(timeout=120) == 0, created.log()
        created.stop()
        reporter = documented_reporter(andon=andon, secret=secret)
        (master / "master.cfg").write_text(
            MASTER_CFG.format(port=port, repo=repo, builder=BUILDER, reporter=reporter)
        )
        made = Child(
            [
                str(buildbot_worker),
                "create-worker",
                "-q",
                str(worker),
                f"127.0.0.1:{port}",
                "w1",
                "pass",
            ],
            log=root / "create.log",
            cwd=root,
            env=env,
        )
        assert made.process.wait(timeout=60) == 0, made.log()
        made.stop()
        self.master = Child(
            [str(buildbot), "start", "--nodaemon", str(master)],
            log=root / "master.out",
            cwd=master,
            env=env,
        )
        self.worker = Child(
            [str(buildbot_worker), "start", "--nodaemon", str(worker)],
            log=root / "worker.out",
            cwd=worker,
            env=env,
        )
        self._master_log = master / "twistd.log"

    def log(self) -> str:
        return self._master_log.read_text(errors="replace") if self._master_log.exists() else ""

    def wait_polling(self) -> None:
        """The worker attached and the poller past its first look (which builds nothing)."""
        eventually(
            lambda: "attaching" in self.log() or self._dead(),
            timeout=90,
            every=0.1,
            what="the Buildbot worker attaching",
        )
        eventually(
            lambda: self.log().count("gitpoller: processing changes from") >= 2 or self._dead(),
            timeout=60,
            every=0.1,
            what="the GitPoller's second poll",
        )
        assert not self._dead(), f"Buildbot exited:\n{self.log()[-3000:]}"

    def _dead(self) -> bool:
        return not self.master.running() or not self.worker.running()

    def stop(self) -> None:
        self.worker.stop()
        self.master.stop()
