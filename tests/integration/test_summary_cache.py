"""The public summary's page cache in Redis (grants.outcomes.cache): each web process keeps a copy of what it
has read, and checks it against the round's generation in Redis on every request, so that a publication in any
process drops every copy at once, and no copy outlives its Redis entry's TTL.

Two app instances on one Redis stand for two web processes; the copies live in the module, so "the other
process has no copy" is said by forgetting them (cache._copies)."""

import time
import uuid

import pytest
import redis

from grants.outcomes import cache
from tests.conftest import make_app

pytestmark = pytest.mark.redis


@pytest.fixture
def processes(database_url, instance_dir, _migrated, redis_url):
    apps = [make_app(database_url, instance_dir, REDIS_URL=redis_url) for _ in range(2)]
    round_id = 900_000 + uuid.uuid4().int % 99_999  # a round no other test caches
    yield apps, round_id
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"grants:summary*:{round_id}*"))
    if keys:
        client.delete(*keys)
    cache._copies.clear()


def entry_key(client, round_id, key):
    """The Redis key of a cached entry of the round's current generation."""
    return f"grants:summary:{round_id}:{client.get(f'grants:summary-gen:{round_id}').decode()}:{key}"


def in_process(app, action):
    with app.test_request_context():
        return action()


def test_the_copy_serves_without_reading_the_entry_and_a_publication_elsewhere_drops_it(processes, redis_url):
    (first, second), round_id = processes
    in_process(first, lambda: cache.get(round_id, "page:nb"))  # a miss reads the generation first
    in_process(first, lambda: cache.put(round_id, "page:nb", "version 1"))
    client = redis.Redis.from_url(redis_url)
    entry = entry_key(client, round_id, "page:nb")
    assert client.get(entry) == b"version 1"

    client.delete(entry)  # the process's copy answers: it read only the generation
    assert in_process(first, lambda: cache.get(round_id, "page:nb")) == "version 1"

    in_process(second, lambda: cache.invalidate_round(round_id))  # the other process publishes
    assert in_process(first, lambda: cache.get(round_id, "page:nb")) is None  # the copy is of the old generation
    in_process(second, lambda: cache.put(round_id, "page:nb", "version 2"))
    cache._copies.clear()  # the first process has no copy of the new generation: it reads Redis, and keeps it
    assert in_process(first, lambda: cache.get(round_id, "page:nb")) == "version 2"
    client.delete(entry_key(client, round_id, "page:nb"))
    assert in_process(first, lambda: cache.get(round_id, "page:nb")) == "version 2"


def test_a_copy_is_never_served_after_redis_lost_the_generation(processes, redis_url):
    # Redis restarted without its data (or the key was evicted): the generation starts as a new random token,
    # never as the old one again, so no process takes its old copy (a page since unpublished) for current.
    (first, _second), round_id = processes
    in_process(first, lambda: cache.get(round_id, "page:nb"))
    in_process(first, lambda: cache.put(round_id, "page:nb", "published then"))
    assert in_process(first, lambda: cache.get(round_id, "page:nb")) == "published then"
    client = redis.Redis.from_url(redis_url)
    client.delete(*client.scan_iter(f"grants:summary*:{round_id}*"))
    assert in_process(first, lambda: cache.get(round_id, "page:nb")) is None


def test_a_copy_expires_with_its_redis_entry(processes, redis_url):
    (first, _second), round_id = processes
    in_process(first, lambda: cache.get(round_id, "body:en"))
    in_process(first, lambda: cache.put(round_id, "body:en", "figures read now"))
    client = redis.Redis.from_url(redis_url)
    client.expire(entry_key(client, round_id, "body:en"), 1)
    cache._copies.clear()
    assert in_process(first, lambda: cache.get(round_id, "body:en")) == "figures read now"  # copied, for 1 s
    time.sleep(1.2)
    assert in_process(first, lambda: cache.get(round_id, "body:en")) is None


def test_without_redis_reachable_the_cache_misses_and_never_fails(database_url, instance_dir, _migrated):
    app = make_app(database_url, instance_dir, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    assert in_process(app, lambda: cache.get(4242, "page:nb")) is None
    in_process(app, lambda: cache.put(4242, "page:nb", "never kept"))
    assert in_process(app, lambda: cache.get(4242, "page:nb")) is None
