from datetime import UTC, datetime, timedelta

import pytest

from reviewqueue.review.presentation import age_text

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=3, minutes=5), "3 h 5 min"),
        (timedelta(days=1), "1 d"),
        (timedelta(days=4, hours=7, minutes=59), "4 d 7 h"),
        (timedelta(minutes=-5), "just now"),  # a clock slightly ahead never shows a negative age
    ],
)
def test_age_text_shows_the_two_largest_units(ago, text):
    assert age_text(NOW - ago, NOW) == text
