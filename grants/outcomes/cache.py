"""A small page cache for the public summary pages, shared through Redis when there is one.

Entries are keyed by a per-round generation (a random token); publishing or unpublishing sets a new one, so
every web process drops its copy at once. Each process keeps a copy of what it has read or stored, checked against
the generation on every request: in Redis when there is one (one small read instead of the whole page), else in
the process itself, where the copies are the whole cache.
"""

import secrets
import threading
import time

from flask import current_app, g
from sqlalchemy import event
from sqlalchemy.orm import Session

_generations = {}  # without Redis: round_id -> the round's generation in this process
_lock = threading.Lock()
TTL = 3600


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("grants_redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        current_app.extensions["grants_redis"] = client
    return client


def _generation(round_id):
    """The round's current generation: a str, or None when Redis is out of reach (no cache then).

    In Redis a generation is a random token, never a count: when the key is gone (Redis restarted without
    persistence, an eviction, clear_all) a new token is made, so a copy kept by a process under an earlier
    generation can never be taken for the current one, as a count starting again from 0 would let it."""
    client = _redis()
    if client is None:
        with _lock:
            return _generations.setdefault(round_id, secrets.token_hex(8))
    key = f"grants:summary-gen:{round_id}"
    try:
        generation = client.get(key)
        if generation is None:
            with client.pipeline(transaction=False) as pipe:  # the first to set it wins; everyone reads that one
                generation = pipe.set(key, secrets.token_hex(8), nx=True).get(key).execute()[1]
        return generation.decode()
    except Exception:  # Redis down: no cache, never an error page
        return None


def _seen(round_id, generation):
    """Remember the generation this request read, so that what it renders on a miss is stored under it (never
    under a newer one, which a publication committed meanwhile would have made)."""
    g.setdefault("summary_generations", {})[round_id] = generation


# Each process keeps a copy of the entries it has read from Redis or stored: (round_id, key) ->
# (generation, value, monotonic time it expires). A request asks Redis only for the round's generation (a few
# bytes) and takes the copy if it is of that generation and not expired; a publication sets a new generation,
# so no process serves its old copy after that. The copy expires when the Redis entry does (TTL), so the page's
# figures are never older than TTL seconds. At most one copy per round and key: a newer generation replaces it.
_copies = {}


def _keep(round_id, key, generation, value, ttl):
    with _lock:
        _copies[(round_id, key)] = (generation, value, time.monotonic() + ttl)


def _copy(round_id, key, generation):
    kept = _copies.get((round_id, key))
    if kept is None or kept[0] != generation or kept[2] <= time.monotonic():
        return None
    return kept[1]


def get(round_id, key):
    """The cached entry ``key`` (str) of the round's current generation, or None: a miss, or Redis out of reach
    (which never gives an error page). With Redis: one round trip for the generation; the entry itself comes
    from this process's copy when it has one of that generation, else from Redis (its value and remaining TTL in
    one more round trip)."""
    generation = _generation(round_id)
    _seen(round_id, generation)
    if generation is None:
        return None
    value = _copy(round_id, key, generation)
    client = _redis()
    if value is not None or client is None:
        return value
    full = f"grants:summary:{round_id}:{generation}:{key}"
    try:
        with client.pipeline(transaction=False) as pipe:
            raw, ttl = pipe.get(full).ttl(full).execute()
    except Exception:  # Redis down: no cache, never an error page
        return None
    if raw is None:
        return None
    value = raw.decode()
    if ttl > 0:
        _keep(round_id, key, generation, value, ttl)
    return value


def put(round_id, key, value):
    generation = g.get("summary_generations", {}).get(round_id, "unread")
    if generation == "unread":
        generation = _generation(round_id)
    if generation is None:
        return
    client = _redis()
    if client is not None:
        try:
            client.set(f"grants:summary:{round_id}:{generation}:{key}", value.encode(), ex=TTL)
        except Exception:
            return
    _keep(round_id, key, generation, value, TTL)


def invalidate_round(round_id):
    client = _redis()
    if client is None:
        with _lock:
            _generations[round_id] = secrets.token_hex(8)  # a new token: every copy is old now
        return
    try:
        client.set(f"grants:summary-gen:{round_id}", secrets.token_hex(8))  # a new token: every copy is old now
    except Exception:
        current_app.logger.warning("could not drop the summary cache of round %s", round_id)


def clear_all():
    """Forget every cached summary page and generation (after restoring or emptying the database, when round
    ids may start again from 1 and must not meet pages cached for the rounds that had them before)."""
    with _lock:
        _generations.clear()
        _copies.clear()
    client = _redis()
    if client is not None:
        keys = list(client.scan_iter("grants:summary*", count=1000))
        if keys:
            client.delete(*keys)


_PENDING = "summary_cache_rounds"


def invalidate_after_commit(session, round_id):
    """Drop the round's pages once the transaction that changed them has committed (not before: a request in
    between would cache the old content under the new generation)."""
    session.info.setdefault(_PENDING, set()).add(round_id)


@event.listens_for(Session, "after_commit")
def _invalidate_committed(session):
    for round_id in session.info.pop(_PENDING, ()):
        invalidate_round(round_id)


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(_PENDING, None)
