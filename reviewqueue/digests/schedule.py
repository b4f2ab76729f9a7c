"""When a digest is due: the latest scheduled moment at or before now, in the person's timezone. Pure."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`; ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}: use an IANA name such as Europe/Berlin") from None


def timezone_names() -> list[str]:
    return sorted(available_timezones())


def latest_moment(*, frequency: str, send_at: time, tz_name: str, now: datetime) -> datetime | None:
    """The last moment at or before `now` (UTC) when a digest of `frequency` falls due; None when off.

    daily: `send_at` local time each day; hourly: `send_at`'s minute past each local hour. A local
    time that a DST change skips falls on the same wall-clock reading after the change (zoneinfo's fold).
    """
    tz = zone(tz_name)
    local_now = now.astimezone(tz)
    if frequency == "daily":
        candidate = datetime.combine(local_now.date(), send_at.replace(second=0, microsecond=0), tzinfo=tz)
        if candidate > local_now:
            candidate = datetime.combine(local_now.date() - timedelta(days=1), candidate.timetz())
        return candidate.astimezone(UTC)
    if frequency == "hourly":
        candidate = local_now.replace(minute=send_at.minute, second=0, microsecond=0)
        if candidate > local_now:
            candidate -= timedelta(hours=1)
        return candidate.astimezone(UTC)
    return None
