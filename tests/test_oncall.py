"""Who is on call, and moments as people type them: the rotation's arithmetic and the parser
``/oncall override … until <when>`` (and later ``/whys schedule``) rely on."""

from datetime import UTC, datetime, timedelta

import pytest

from core.alerts.oncall import after, scheduled
from core.config.alerts import OncallConfig
from core.moments import MomentError, parse_moment

THURSDAY = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def _rotation(**settings: object) -> OncallConfig:
    return OncallConfig.model_validate({"rotation": ["U1", "U2", "U3"], **settings})


def test_the_rotation_moves_on_at_each_handoff_and_says_until_when() -> None:
    config = _rotation(handoff="mon 09:00")
    now = scheduled(config, THURSDAY)
    assert now.until == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    just_before = scheduled(config, now.until - timedelta(seconds=1))
    at_handoff = scheduled(config, now.until)
    assert just_before.user == now.user
    following = config.rotation[(config.rotation.index(now.user) + 1) % 3]
    assert at_handoff.user == following
    assert scheduled(config, now.until + timedelta(weeks=2)).user == now.user  # three people


def test_the_handoff_is_read_in_the_rotations_time_zone() -> None:
    config = _rotation(handoff="mon 09:00", timezone="America/New_York")
    assert scheduled(config, THURSDAY).until == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def test_an_escalation_goes_to_the_next_person_and_never_back_to_the_same() -> None:
    config = _rotation()
    assert after(config, "U1", THURSDAY) == "U2"
    assert after(config, "U3", THURSDAY) == "U1"
    alone = OncallConfig.model_validate({"rotation": ["U1"]})
    assert after(alone, "U1", THURSDAY) is None


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("tomorrow 10:00", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("2026-12-01 15:00", datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
        ("fri 17:00", datetime(2026, 11, 27, 17, 0, tzinfo=UTC)),
        ("thursday 09:00", datetime(2026, 12, 3, 9, 0, tzinfo=UTC)),  # today's has passed
        ("16:30", datetime(2026, 11, 26, 16, 30, tzinfo=UTC)),
        ("10:00", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("in 2h", datetime(2026, 11, 26, 16, 0, tzinfo=UTC)),
        ("Tomorrow  10:00", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
    ],
)
def test_moments_read_as_people_write_them(text: str, moment: datetime) -> None:
    assert parse_moment(text, now=THURSDAY) == moment


def test_a_moment_in_the_teams_zone_is_stored_in_utc() -> None:
    found = parse_moment("tomorrow 10:00", now=THURSDAY, timezone="Europe/Berlin")
    assert found == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["someday", "25:00", "2026-13-01 10:00", "in forever"])
def test_what_is_not_a_moment_says_how_to_write_one(text: str) -> None:
    with pytest.raises(MomentError, match="tomorrow 10:00"):
        parse_moment(text, now=THURSDAY)
