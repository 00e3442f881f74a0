"""The circuit breaker's states: closed, open after N failures in a row, one probe when half-open."""

from __future__ import annotations

from betrue.server.client._breaker import CircuitBreaker
from betrue.server.client._resilience import Policy


def state_of(breaker: CircuitBreaker) -> str:
    return breaker.state


def test_the_breaker_lets_one_probe_through_when_half_open() -> None:
    policy = Policy(breaker_failures=2, breaker_reset=0.0)
    breaker = CircuitBreaker()
    breaker.record(False, policy)
    assert state_of(breaker) == "closed"
    breaker.record(False, policy)
    assert state_of(breaker) == "open"
    assert breaker.allow(policy) is True  # reset time is 0: half-open, one probe
    assert state_of(breaker) == "half_open"
    assert breaker.allow(policy) is False  # a second caller waits for the probe's outcome
    breaker.record(True, policy)
    assert state_of(breaker) == "closed"
    assert breaker.allow(policy) is True


def test_a_success_in_between_resets_the_count() -> None:
    policy = Policy(breaker_failures=2, breaker_reset=60.0)
    breaker = CircuitBreaker()
    breaker.record(False, policy)
    breaker.record(True, policy)
    breaker.record(False, policy)
    assert state_of(breaker) == "closed"
    breaker.record(False, policy)
    assert state_of(breaker) == "open"
    assert breaker.allow(policy) is False  # 60 s to go before a probe
