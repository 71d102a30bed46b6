"""A small page cache for the public summary pages, shared through Redis when there is one.

Entries are keyed by a per-round generation number; publishing or unpublishing raises the generation, so
every web process drops its copy at once.
"""

import threading

from flask import current_app, g
from sqlalchemy import event
from sqlalchemy.orm import Session

_local = {}
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
    client = _redis()
    if client is None:
        return _local.get(("gen", round_id), 0)
    try:
        return int(client.get(f"grants:summary-gen:{round_id}") or 0)
    except Exception:  # Redis down: no cache, never an error page
        return None


# The generation and the entry in one round trip (a cache hit is the common case on a public page).
_GET_SCRIPT = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ARGV[2])}
"""


def _seen(round_id, generation):
    """Remember the generation this request read, so that what it renders on a miss is stored under it (never
    under a newer one, which a publication committed meanwhile would have made)."""
    g.setdefault("summary_generations", {})[round_id] = generation


def get(round_id, key):
    client = _redis()
    if client is None:
        generation = _generation(round_id)
        _seen(round_id, generation)
        return _local.get(f"grants:summary:{round_id}:{generation}:{key}")
    try:
        script = current_app.extensions.get("grants_summary_get")
        if script is None:
            script = current_app.extensions["grants_summary_get"] = client.register_script(_GET_SCRIPT)
        generation, value = script(keys=[f"grants:summary-gen:{round_id}"],
                                   args=[f"grants:summary:{round_id}:", f":{key}"])
    except Exception:  # Redis down: no cache, never an error page
        _seen(round_id, None)
        return None
    _seen(round_id, int(generation))
    return value.decode() if value is not None else None


def put(round_id, key, value):
    generation = g.get("summary_generations", {}).get(round_id, "unread")
    if generation == "unread":
        generation = _generation(round_id)
    if generation is None:
        return
    full = f"grants:summary:{round_id}:{generation}:{key}"
    client = _redis()
    if client is None:
        with _lock:
            _local[full] = value
        return
    try:
        client.set(full, value.encode(), ex=TTL)
    except Exception:
        return


def invalidate_round(round_id):
    client = _redis()
    if client is None:
        with _lock:
            for k in [k for k in _local if isinstance(k, str) and k.startswith(f"grants:summary:{round_id}:")]:
                del _local[k]
            _local[("gen", round_id)] = _local.get(("gen", round_id), 0) + 1
        return
    try:
        client.incr(f"grants:summary-gen:{round_id}")
    except Exception:
        current_app.logger.warning("could not drop the summary cache of round %s", round_id)


def clear_all():
    """Forget every cached summary page and generation (after restoring or emptying the database, when round
    ids may start again from 1 and must not meet pages cached for the rounds that had them before)."""
    with _lock:
        _local.clear()
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
