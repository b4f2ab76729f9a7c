"""When a digest falls due: the person's own clock, whatever the server's."""

from datetime import UTC, datetime, time

import pytest

from reviewqueue.digests.schedule import latest_moment


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz_name", "now", "expected"),
    [
        # 08:00 in Berlin (UTC+1 in December) is 07:00 UTC: due from then until the next day's.
        ("Europe/Berlin", utc(2026, 12, 7, 7, 0), utc(2026, 12, 7, 7, 0)),
        ("Europe/Berlin", utc(2026, 12, 7, 6, 59), utc(2026, 12, 6, 7, 0)),
        # 08:00 in New York (UTC-5) is 13:00 UTC.
        ("America/New_York", utc(2026, 12, 7, 12, 0), utc(2026, 12, 6, 13, 0)),
        ("America/New_York", utc(2026, 12, 7, 13, 30), utc(2026, 12, 7, 13, 0)),
        # 08:00 in Kolkata (UTC+5:30) is 02:30 UTC.
        ("Asia/Kolkata", utc(2026, 12, 7, 3, 0), utc(2026, 12, 7, 2, 30)),
        # Summer time: 08:00 in Berlin in July is 06:00 UTC.
        ("Europe/Berlin", utc(2026, 7, 1, 6, 30), utc(2026, 7, 1, 6, 0)),
    ],
)
def test_a_daily_digest_falls_due_at_the_persons_local_time(tz_name, now, expected):
    assert latest_moment(frequency="daily", send_at=time(8, 0), tz_name=tz_name, now=now) == expected


def test_an_hourly_digest_falls_due_at_its_minute_past_each_local_hour():
    # Kolkata is half an hour off UTC: 15 minutes past its hour is 45 minutes past UTC's.
    now = utc(2026, 12, 7, 9, 50)
    assert latest_moment(frequency="hourly", send_at=time(0, 15), tz_name="Asia/Kolkata", now=now) == utc(
        2026, 12, 7, 9, 45
    )
    assert latest_moment(frequency="hourly", send_at=time(0, 15), tz_name="UTC", now=now) == utc(2026, 12, 7, 9, 15)
    assert latest_moment(frequency="hourly", send_at=time(0, 55), tz_name="UTC", now=now) == utc(2026, 12, 7, 8, 55)


def test_a_digest_turned_off_is_never_due():
    assert latest_moment(frequency="off", send_at=time(8, 0), tz_name="UTC", now=utc(2026, 12, 7, 9)) is None


def test_an_unknown_timezone_is_named():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        latest_moment(frequency="daily", send_at=time(8, 0), tz_name="Mars/Olympus", now=utc(2026, 12, 7))
