import pytest

from ptgfill_cli.durations import parse_duration


@pytest.mark.parametrize("text, seconds", [
    ("2h30m", 9000), ("90m", 5400), ("45s", 45), ("3600", 3600), ("1.5h", 5400), ("1d", 86400),
    ("1h 5m 3s", 3903), (" 10M ", 600),
])
def test_durations_people_write(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "0m", "h", "2x", "-5m", "5m5m", "5s5", "inf", "1e9"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
