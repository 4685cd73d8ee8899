"""The tables, a module per topic; importing this package registers every one of them on
SQLModel.metadata, which the migrations and the schema test read."""

from storage.tables.ci import CiJob, CiResult, ReviewHead
from storage.tables.deploys import Deploy, DeployHost, DeployLock, ForgeDeployment, Release
from storage.tables.flags import Flag, FlagChange, FlagRollout, FlagVersion, FlagWatch
from storage.tables.line import Line, Stoppage, StoppageCause
from storage.tables.pages import (
    AlertStorm,
    CheckState,
    OncallHandoff,
    OncallOverride,
    Page,
    PageAlert,
    PageEvent,
)
from storage.tables.records import (
    AuditEntry,
    DigestPost,
    HomeViewer,
    InboundDelivery,
    OutboxMessage,
)
from storage.tables.whys import ActionItem, ThreadReply, WhyAnswer, Whys

__all__ = [
    "ActionItem",
    "AlertStorm",
    "AuditEntry",
    "CheckState",
    "CiJob",
    "CiResult",
    "Deploy",
    "DeployHost",
    "DeployLock",
    "DigestPost",
    "Flag",
    "FlagChange",
    "FlagRollout",
    "FlagVersion",
    "FlagWatch",
    "ForgeDeployment",
    "HomeViewer",
    "InboundDelivery",
    "Line",
    "OncallHandoff",
    "OncallOverride",
    "OutboxMessage",
    "Page",
    "PageAlert",
    "PageEvent",
    "Release",
    "ReviewHead",
    "Stoppage",
    "StoppageCause",
    "ThreadReply",
    "WhyAnswer",
    "Whys",
]
