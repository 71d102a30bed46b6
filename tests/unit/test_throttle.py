"""The throttle rules (grants/accounts/throttle.py) on a fake clock: progressive waits, the pause and its lifting,
one attempt at a time, rate limits per window, and the fallback to memory while the store fails."""

import pytest
from limits.storage import MemoryStorage

from grants.accounts.throttle import (
    ALLOWED,
    LIMITED,
    LOCKED,
    OPEN,
    WAIT,
    ClockedCounters,
    Counters,
    LoginPolicy,
    LoginThrottle,
    RateLimit,
)


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def throttle(clock):
    return LoginThrottle(ClockedCounters(clock), LoginPolicy(), clock=clock, secret="s")


def fail(throttle, account="kari@bergen.kommune.no"):
    assert throttle.begin(account) == ALLOWED
    return throttle.failed(account)


def test_delays_double_after_the_free_failures_and_stop_at_the_cap():
    policy = LoginPolicy(free_failures=5, first_delay=1, max_delay=60)
    assert [policy.delay_after(n) for n in range(0, 13)] == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert policy.delay_after(10_000) == 60
    assert not policy.locks_at(19) and policy.locks_at(20)


def test_seconds_to_lock_sums_the_waits_between_the_failures():
    # failures 5..19 are each followed by a wait: 1+2+4+8+16+32 and nine of 60
    assert LoginPolicy().seconds_to_lock() == 63 + 9 * 60
    assert LoginPolicy(free_failures=20, lock_after=20).seconds_to_lock() == 0


def test_five_failures_are_free_then_each_attempt_waits_longer(throttle, clock):
    for _ in range(4):
        assert fail(throttle) == ALLOWED
    verdict = fail(throttle)
    assert (verdict.state, verdict.seconds, verdict.newly_locked) == (WAIT, 1, False)
    assert throttle.status("kari@bergen.kommune.no") == verdict
    # during the wait the attempt is refused without a turn, and it does not count as a failure
    assert throttle.begin("kari@bergen.kommune.no").state == WAIT
    assert throttle.failures("kari@bergen.kommune.no") == 5
    clock.advance(1)
    verdict = fail(throttle)
    assert (verdict.state, verdict.seconds) == (WAIT, 2)
    clock.advance(1.5)
    refused = throttle.begin("kari@bergen.kommune.no")
    assert (refused.state, refused.seconds) == (WAIT, 1)  # half a second left: says 1, never 0
    clock.advance(0.5)
    assert fail(throttle).seconds == 4


def test_written_differently_is_the_same_account(throttle):
    for _ in range(5):
        fail(throttle, "Kari@Bergen.Kommune.no ")
    assert throttle.begin("kari@bergen.kommune.no").state == WAIT
    assert throttle.begin("ola@bergen.kommune.no") == ALLOWED  # another account is not affected


def test_twenty_failures_pause_the_account_and_the_right_password_waits_too(throttle, clock):
    account = "kari@bergen.kommune.no"
    verdicts = []
    for _ in range(20):
        clock.advance(61)  # always wait out the delay
        verdicts.append(fail(throttle, account))
    assert [v.newly_locked for v in verdicts] == [False] * 19 + [True]
    assert (verdicts[-1].state, verdicts[-1].seconds) == (LOCKED, 30 * 60)
    clock.advance(29 * 60)
    refused = throttle.begin(account)  # whatever password comes, it is not checked
    assert (refused.state, refused.seconds) == (LOCKED, 60)
    clock.advance(60)
    assert throttle.begin(account) == ALLOWED  # the pause ended by itself, and the failures were forgotten
    assert throttle.failures(account) == 0


def test_unlock_lifts_the_pause_at_once_and_a_login_forgets_the_failures(throttle, clock):
    account = "kari@bergen.kommune.no"
    for _ in range(20):
        clock.advance(61)
        fail(throttle, account)
    assert throttle.begin(account).state == LOCKED
    throttle.unlock(account)
    assert throttle.begin(account) == ALLOWED
    throttle.succeeded(account)
    for _ in range(3):
        fail(throttle, account)
    throttle.begin(account)
    throttle.succeeded(account)
    assert throttle.failures(account) == 0
    for _ in range(4):  # four more are free again
        assert fail(throttle, account) == ALLOWED


def test_one_attempt_at_a_time_per_account_once_it_has_a_failure(throttle, clock):
    account = "kari@bergen.kommune.no"
    assert throttle.begin(account) == throttle.begin(account) == ALLOWED  # a clean account takes no turn
    throttle.succeeded(account)
    fail(throttle, account)
    assert throttle.begin(account) == ALLOWED
    second = throttle.begin(account)  # a parallel request while the first is checked
    assert (second.state, second.seconds) == (WAIT, 1)
    throttle.failed(account)
    assert throttle.begin(account) == ALLOWED  # the first one finished and freed the turn
    clock.advance(31)  # a request that died never frees its turn: it expires
    assert throttle.begin(account) == ALLOWED


def test_failures_are_forgotten_after_the_window(throttle, clock):
    account = "kari@bergen.kommune.no"
    for _ in range(4):
        fail(throttle, account)
    clock.advance(60 * 60)
    assert throttle.failures(account) == 0
    assert fail(throttle, account) == ALLOWED


def test_keys_hold_no_e_mail_address(throttle):
    key = throttle.key("fail", "kari@bergen.kommune.no")
    assert "kari" not in key and "bergen" not in key
    assert key != LoginThrottle(None, secret="another").key("fail", "kari@bergen.kommune.no")


def test_rate_limit_refuses_above_the_amount_until_the_window_ends(clock):
    limit = RateLimit(ClockedCounters(clock), "5 per hour", "reset-email", clock=clock)
    assert [limit.hit("kari@bergen.kommune.no").state for _ in range(5)] == [OPEN] * 5
    refused = limit.hit("KARI@bergen.kommune.no")
    assert (refused.state, refused.seconds) == (LIMITED, 3600)
    assert limit.hit("ola@bergen.kommune.no") == ALLOWED
    clock.advance(1800)
    assert limit.hit("kari@bergen.kommune.no").seconds == 1800
    clock.advance(1800)
    assert limit.hit("kari@bergen.kommune.no") == ALLOWED
    assert limit.remaining("kari@bergen.kommune.no") == 4


def test_rate_limit_with_several_windows_waits_for_the_fullest(clock):
    limit = RateLimit(ClockedCounters(clock), "3 per minute;5 per hour", "x", clock=clock)
    assert [limit.hit("a").state for _ in range(4)] == [OPEN, OPEN, OPEN, LIMITED]
    clock.advance(60)
    assert limit.hit("a") == ALLOWED  # the fifth of the hour: the refused fourth counted too
    refused = limit.hit("a")
    assert (refused.state, refused.seconds) == (LIMITED, 3540)


class BrokenStorage(MemoryStorage):
    @property
    def base_exceptions(self):
        return ConnectionError

    def _down(self, *args):
        raise ConnectionError("Redis is restarting")

    incr = get = get_expiry = clear = _down


def test_the_rules_hold_on_the_limits_memory_storage_too():
    """The real storage (what RATELIMIT_STORAGE_URI=memory:// gives) keeps the same expiry rules as the fake."""
    throttle = LoginThrottle(Counters(MemoryStorage()), LoginPolicy(free_failures=2, lock_after=3), secret="s")
    for _ in range(2):
        fail(throttle)
    waiting = throttle.begin("kari@bergen.kommune.no")
    assert (waiting.state, waiting.seconds) == (WAIT, 1)
    throttle.counters.clear(throttle.key("wait", "kari@bergen.kommune.no"))
    assert fail(throttle).newly_locked
    assert throttle.begin("kari@bergen.kommune.no").state == LOCKED
    throttle.unlock("kari@bergen.kommune.no")
    assert throttle.begin("kari@bergen.kommune.no") == ALLOWED


def test_counters_fall_back_to_memory_while_the_store_fails():
    counters = Counters(BrokenStorage(), fallback=True)
    counters.memory = MemoryStorage()  # BrokenStorage is a MemoryStorage, so none was made
    assert counters.incr("k", 60) == 1 and counters.incr("k", 60) == 2 and counters.get("k") == 2
    counters.clear("k")
    assert counters.get("k") == 0
    with pytest.raises(ConnectionError):
        Counters(BrokenStorage(), fallback=False).incr("k", 60)


def test_after_a_failure_the_store_is_left_alone_for_a_while_then_tried_again():
    now = [1000.0]

    class CountingBroken(BrokenStorage):
        calls = 0

        def incr(self, *args, **kwargs):
            CountingBroken.calls += 1
            return super().incr(*args, **kwargs)

    counters = Counters(CountingBroken(), fallback=True, clock=lambda: now[0])
    counters.memory = MemoryStorage()
    for _ in range(5):
        counters.incr("k", 60)
    assert CountingBroken.calls == 1  # one timeout, then memory only
    now[0] += Counters.RETRY_AFTER + 1
    counters.incr("k", 60)
    assert CountingBroken.calls == 2  # tried again once the period is over
