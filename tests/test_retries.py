"""When a failed article is tried again, read back from the listing digest stored for it."""

from __future__ import annotations

import pytest

from aggregator.retries import ARTICLE_TRIES, RETRY_FIRST, RETRY_MOST, Failures

T = 1_700_000_000.0


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, Failures()),
        ("d1", Failures()),  # read whole
        ("d1~2", Failures(2)),
        (f"d1~7@{int(T)}", Failures(7, T)),
        ("d1~5", Failures(5)),  # written before tries waited: due at once
        ("d2~3", Failures()),  # another listing's count
        ("d1~", Failures()),
        ("d1~x@1", Failures()),
        ("d1~-1", Failures()),
        ("d1~5@-3", Failures(5)),
        ("d1~5@1e9", Failures(5)),
        ("d1~²", Failures()),  # a digit to str.isdigit that int() refuses
    ],
)
def test_stored_failures_are_read_back_or_ignored(stored: str | None, expected: Failures) -> None:
    assert Failures.of(stored, "d1") == expected


def test_tries_wait_an_hour_then_twice_as_long_up_to_a_day() -> None:
    waits = [Failures(n, T).due - T for n in range(ARTICLE_TRIES, ARTICLE_TRIES + 8)]
    assert waits == [RETRY_FIRST * 2**k for k in range(5)] + [RETRY_MOST] * 3
    assert Failures(ARTICLE_TRIES - 1, T).due == 0.0, "before then, at the next fetch"
    assert Failures(10_000, T).due == T + RETRY_MOST


def test_the_stored_form_reads_back() -> None:
    for failures in (Failures(1, T), Failures(ARTICLE_TRIES + 2, T)):
        again = Failures.of(failures.stored("d1"), "d1")
        assert again.count == failures.count
        assert again.due == failures.due


def test_the_warning_says_when_the_next_try_is() -> None:
    assert Failures(ARTICLE_TRIES - 1, T).waiting() == ""
    assert "tried again in an hour" in Failures(ARTICLE_TRIES, T).waiting()
    assert "tried again in 16 hours" in Failures(ARTICLE_TRIES + 4, T).waiting()
    assert "tried again in a day" in Failures(ARTICLE_TRIES + 5, T).waiting()
