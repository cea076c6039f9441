"""The operator's own API calls wait as the API server asks when it answers 429."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from agentic_operator.kube import RetryAfter, retry_after


def too_many(seconds: str | None) -> ApiException:
    exc = ApiException(status=429, reason="TooManyRequests")
    exc.headers = {"Retry-After": seconds} if seconds is not None else {}
    return exc


class Flaky:
    """Answers each call with the next of ``answers`` (an exception is raised)."""

    def __init__(self, *answers: Any) -> None:
        self.answers, self.calls = list(answers), 0
        self.timeout = 10  # an attribute, not a call

    def patch(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return (args, kwargs, answer)


def test_a_429_is_retried_after_the_seconds_the_server_asks() -> None:
    slept: list[float] = []
    api = RetryAfter(Flaky(too_many("3"), too_many("1"), "ok"), sleep=slept.append)
    assert api.patch("a", body={"x": 1}) == (("a",), {"body": {"x": 1}}, "ok")
    assert slept == [3.0, 1.0] and api.timeout == 10


def test_other_errors_and_a_429_without_retry_after_are_raised_at_once() -> None:
    slept: list[float] = []
    for error in (ApiException(status=500), too_many(None), too_many("Wed, 21 Oct 2026 07:28:00 GMT")):
        flaky = Flaky(error, "ok")
        with pytest.raises(ApiException):
            RetryAfter(flaky, sleep=slept.append).patch()
        assert flaky.calls == 1
    assert slept == []


def test_retries_are_bounded() -> None:
    slept: list[float] = []
    flaky = Flaky(*[too_many("0")] * 4)
    with pytest.raises(ApiException):
        RetryAfter(flaky, retries=3, sleep=slept.append).patch()
    assert flaky.calls == 4 and slept == [0.0] * 3


def test_retry_after_reads_only_a_429s_header() -> None:
    assert retry_after(too_many("2.5")) == 2.5
    assert retry_after(too_many("-1")) is None
    assert retry_after(ValueError("x")) is None
    exc = ApiException(status=503)
    exc.headers = {"Retry-After": "1"}
    assert retry_after(exc) is None
