"""Throttles on logging in, registering and asking for a new password (innloggingsbegrensning) that protect an
account without locking a kommune out.

* Per account (the typed e-mail address, whether a user has it or not): a few failed passwords are free; after
  that each attempt must wait longer than the last (1, 2, 4 ... seconds, capped), and after many failures logging
  in with that address is paused for a while. The owner can lift the pause through a link sent by e-mail. Once an
  address has a failure, one attempt at a time: a second one while the first is being checked waits a second.
* Per client address (the proxy-aware ``request.remote_addr``): a limit high enough for a whole kommune behind one
  outgoing address.
* Registration and password reset: a limit per typed e-mail address and per client address.

The rules are plain Python on a counter store with the operations of a ``limits`` storage (``incr`` with an
expiry, ``get``, ``get_expiry``, ``clear``): Redis when the app has one, so every worker shares the counts, and the
process's memory otherwise (see ``counters_for``). Time comes from ``clock`` so the unit tests can move it.
"""

import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass

from limits import parse_many
from limits.storage import MemoryStorage, storage_from_string

log = logging.getLogger(__name__)

OPEN, WAIT, LOCKED, LIMITED = "open", "wait", "locked", "limited"
TURN_SECONDS = 30  # longest time one login attempt may hold its account's turn (a request that died frees it then)


@dataclass(frozen=True)
class LoginPolicy:
    """How failed passwords on one account are answered.

    ``free_failures`` failures cost nothing; after failure number ``free_failures`` + k the next attempt waits
    ``first_delay`` * 2**k seconds, at most ``max_delay``; at ``lock_after`` failures logging in is paused for
    ``lock_seconds``. Failures are remembered for ``window_seconds`` from the first one."""

    free_failures: int = 5
    first_delay: int = 1
    max_delay: int = 60
    lock_after: int = 20
    lock_seconds: int = 30 * 60
    window_seconds: int = 60 * 60

    def delay_after(self, failures):
        """Seconds (int) the next attempt must wait after ``failures`` (int) failed attempts in a row: 0 while
        they are at most ``free_failures`` - 1, then doubling from ``first_delay`` up to ``max_delay``."""
        if failures < self.free_failures:
            return 0
        steps = failures - self.free_failures
        if steps >= 32:  # 2**32 seconds is past any cap
            return self.max_delay
        return min(self.first_delay * 2 ** steps, self.max_delay)

    def locks_at(self, failures):
        """True when ``failures`` (int) failed attempts pause the account."""
        return failures >= self.lock_after

    def seconds_to_lock(self):
        """Seconds (int) a client that always waits exactly as told needs from the first failure to the pause:
        the sum of the waits between failures. The README's figures come from here."""
        return sum(self.delay_after(n) for n in range(1, self.lock_after))


@dataclass(frozen=True)
class Verdict:
    """What holds for an account or an address: ``state`` is OPEN, WAIT (a short wait), LOCKED (the pause) or
    LIMITED (a rate limit is used up); ``seconds`` how long until the next attempt may go (0 when OPEN);
    ``newly_locked`` is True on the failure that started the pause (the moment to send the unlock link)."""

    state: str
    seconds: int = 0
    newly_locked: bool = False

    @property
    def allowed(self):
        return self.state == OPEN


ALLOWED = Verdict(OPEN)


def _seconds_left(expiry, now):
    return max(1, math.ceil(expiry - now))


class LoginThrottle:
    """Progressive waits and a pause per account. ``counters`` is a limits-style storage, ``clock`` gives the time
    in seconds (time.time), ``prefix`` starts every key (str)."""

    def __init__(self, counters, policy=None, clock=time.time, prefix="", secret=""):
        self.counters = counters
        self.policy = policy or LoginPolicy()
        self.clock = clock
        self.prefix = prefix
        self.secret = secret.encode() if isinstance(secret, str) else secret

    def key(self, kind, account):
        """The storage key of ``kind`` for an account (the typed e-mail address, normalised). The address is kept
        only as a keyed hash: Redis holds no e-mail addresses."""
        normal = (account or "").strip().lower()
        digest = hmac.new(self.secret, normal.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{self.prefix}throttle:login:{kind}:{digest}"

    def status(self, account):
        """The pause or the wait that holds for ``account`` now (a Verdict), without taking a turn."""
        # The clock is read after the expiry: Redis tells the expiry as whole seconds from its own "now".
        lock = self.key("lock", account)
        if self.counters.get(lock) > 0:
            return Verdict(LOCKED, _seconds_left(self.counters.get_expiry(lock), self.clock()))
        wait = self.key("wait", account)
        if self.counters.get(wait) > 0:
            return Verdict(WAIT, _seconds_left(self.counters.get_expiry(wait), self.clock()))
        return ALLOWED

    def begin(self, account):
        """Call before checking a password for ``account`` (str). Gives ALLOWED and takes the account's turn (one
        attempt at a time), or a Verdict that says how long to wait; then the password must not be checked."""
        verdict = self.status(account)
        if not verdict.allowed:
            return verdict
        # Once an account has a failure, its attempts go one at a time: a burst of parallel guesses cannot slip
        # between a failure and the wait it starts. A clean account needs no turn, so a turn left behind by a
        # request that died (or by a Redis outage) never stands in the way of its owner's first login.
        if self.counters.get(self.key("fail", account)) and \
                self.counters.incr(self.key("turn", account), TURN_SECONDS) > 1:
            return Verdict(WAIT, 1)  # another attempt on this account is being checked right now
        return ALLOWED

    def failed(self, account):
        """Record a failed password for ``account`` after ``begin`` allowed it. Gives what holds for the next
        attempt: OPEN, WAIT with its seconds, or LOCKED with ``newly_locked`` set when this failure paused it."""
        policy = self.policy
        failures = self.counters.incr(self.key("fail", account), policy.window_seconds)
        self.counters.clear(self.key("turn", account))
        if policy.locks_at(failures):
            for kind in ("fail", "wait"):
                self.counters.clear(self.key(kind, account))
            lock = self.key("lock", account)
            self.counters.clear(lock)
            self.counters.incr(lock, policy.lock_seconds)
            return Verdict(LOCKED, policy.lock_seconds, newly_locked=True)
        delay = policy.delay_after(failures)
        if delay:
            wait = self.key("wait", account)
            self.counters.clear(wait)
            self.counters.incr(wait, delay)
            return Verdict(WAIT, delay)
        return ALLOWED

    def succeeded(self, account):
        """A right password for ``account`` after ``begin`` allowed it: failures are forgotten."""
        for kind in ("fail", "wait", "turn"):
            self.counters.clear(self.key(kind, account))

    def unlock(self, account):
        """Lift the pause (the owner's link) and forget the failures, so the next right password gets in."""
        for kind in ("lock", "fail", "wait", "turn"):
            self.counters.clear(self.key(kind, account))

    def failures(self, account):
        """How many failures in a row are counted for ``account`` now (int)."""
        return self.counters.get(self.key("fail", account))


class RateLimit:
    """At most so many events per window for one subject (an address, an e-mail address), counted in fixed windows.
    ``setting`` is a limits string such as "30 per hour" or "300 per 10 minutes;1000 per day"; ``name`` keeps
    the counts of different limits apart."""

    def __init__(self, counters, setting, name, clock=time.time, prefix="", secret=""):
        self.counters = counters
        self.items = parse_many(setting)
        self.name = name
        self.clock = clock
        self.prefix = prefix
        self.secret = secret.encode() if isinstance(secret, str) else secret

    def _key(self, item, subject):
        normal = (subject or "").strip().lower()
        digest = hmac.new(self.secret, normal.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{self.prefix}throttle:{self.name}:{item.amount}/{item.get_expiry()}:{digest}"

    def hit(self, subject):
        """Count one event for ``subject`` (str). Gives ALLOWED, or LIMITED with the seconds until the fullest
        window ends; a refused event is counted too (a client that keeps trying does not get in sooner)."""
        refused = []
        for item in self.items:
            key = self._key(item, subject)
            count = self.counters.incr(key, item.get_expiry())
            if count > item.amount:
                refused.append(_seconds_left(self.counters.get_expiry(key), self.clock()))
        return Verdict(LIMITED, max(refused)) if refused else ALLOWED

    def remaining(self, subject):
        """How many more events ``subject`` may have before the first of the limits refuses (int)."""
        return min(item.amount - self.counters.get(self._key(item, subject)) for item in self.items)


class Counters:
    """A limits storage that falls back to this process's memory while the real one (Redis) fails
    (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED): a login while Redis restarts is throttled per
    worker instead of answered with a 500. Same operations as the storage."""

    # After a failure the real storage is left alone this long (seconds): a Redis that does not answer costs one
    # timeout per process and period, not one per counter of every login.
    RETRY_AFTER = 30

    def __init__(self, storage, fallback=True, clock=time.monotonic):
        self.storage = storage
        self.memory = MemoryStorage() if fallback and not isinstance(storage, MemoryStorage) else None
        self.clock = clock
        self.down_until = 0.0

    def _call(self, name, *args):
        if self.memory is not None and self.clock() < self.down_until:
            return getattr(self.memory, name)(*args)
        try:
            return getattr(self.storage, name)(*args)
        except self.storage.base_exceptions as error:
            if self.memory is None:
                raise
            self.down_until = self.clock() + self.RETRY_AFTER
            log.warning("throttle counters unavailable, counting in memory for %d s: %s", self.RETRY_AFTER, error)
            return getattr(self.memory, name)(*args)

    def incr(self, key, expiry):
        return self._call("incr", key, expiry)

    def get(self, key):
        return self._call("get", key)

    def get_expiry(self, key):
        return self._call("get_expiry", key)

    def clear(self, key):
        return self._call("clear", key)


class ClockedCounters:
    """Counters in a dict that read ``clock`` instead of the wall clock: the same operations and expiry rules as a
    limits storage (``incr`` sets the expiry when it makes the key; an expired key counts 0), for simulations of
    hours in no time (bench/throttle.py) and the unit tests."""

    def __init__(self, clock):
        self.clock = clock
        self.values, self.expiries = {}, {}

    def _live(self, key):
        if key in self.values and self.expiries[key] <= self.clock():
            del self.values[key], self.expiries[key]
        return key in self.values

    def incr(self, key, expiry):
        if not self._live(key):
            self.values[key], self.expiries[key] = 0, self.clock() + expiry
        self.values[key] += 1
        return self.values[key]

    def get(self, key):
        return self.values[key] if self._live(key) else 0

    def get_expiry(self, key):
        return self.expiries[key] if self._live(key) else self.clock()

    def clear(self, key):
        self.values.pop(key, None)
        self.expiries.pop(key, None)


def counters_for(config):
    """The counter store of an app's ``config``: the storage named by RATELIMIT_STORAGE_URI (Redis in production,
    memory://, each process its own, otherwise), with the in-memory fallback when
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED."""
    uri = config.get("RATELIMIT_STORAGE_URI") or "memory://"
    # A Redis that drops packets instead of refusing them answers after a second at most, not never.
    options = dict(socket_timeout=1, socket_connect_timeout=1) if uri.startswith(("redis://", "rediss://")) else {}
    storage = storage_from_string(uri, **options)
    return Counters(storage, fallback=bool(config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)))
