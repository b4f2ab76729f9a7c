from datetime import timedelta

import pytest

from reviewqueue.sla.durations import BadDuration, format_duration, parse_duration, parse_optional_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("4h", 14400), ("2d", 172800), (" 15M ", 900), ("1s", 1), ("24h", 86400)],
)
def test_durations_read_as_a_number_and_a_unit(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text", ["", "5", "1.5h", "0m", "-2d", "4 hours", "4hh", "h", "2w", "30m5s", "\uff11h"]
)  # the last: a fullwidth digit
def test_a_bad_duration_is_an_error_that_names_it(text):
    with pytest.raises(BadDuration) as error:
        parse_duration(text)
    assert repr(text) in str(error.value) and "90s, 30m, 4h or 2d" in str(error.value)


def test_off_clears_a_duration_and_a_bad_one_still_fails():
    assert parse_optional_duration("off") is None and parse_optional_duration("none") is None
    with pytest.raises(BadDuration):
        parse_optional_duration("soon")


@pytest.mark.parametrize(
    ("seconds", "text"), [(90, "90s"), (1800, "30m"), (5400, "90m"), (86400, "24h"), (172800, "2d"), (3601, "3601s")]
)
def test_a_duration_is_written_back_as_the_parser_reads_it(seconds, text):
    assert format_duration(timedelta(seconds=seconds)) == text
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert format_duration(None) == "off"
