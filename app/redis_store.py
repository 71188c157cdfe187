"""The Redis session store: sessions shared by every process that uses the same Redis.

A session is a versioned record (a small JSON manifest of its graph, its owner and times) plus a hash of
immutable array blobs, each written once under a fresh id: a request writes only the arrays it made and
drops those nothing refers to any more. A request holds the session with a lease (a key with a random token
and a time to live, so that a process that dies frees it), and commits with a compare-and-set on the version
in one Lua script: the version is the fencing token, so a process whose lease ran out can never overwrite a
newer state. Each process keeps live copies of the sessions it served (an LRU) and reuses one while the
stored version has not moved, so the common request costs two small round trips and no loading.
Nothing stored is code: records are JSON and raw arrays, loaded by `engine.state` with every check.
"""

from __future__ import annotations

import collections
import logging
import secrets
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from engine.errors import EngineError
from engine.program import Limits, Namespace
from engine.state import check_sizes, dump, load_state

from .errors import Problem
from .sessions import Session, session_not_found
from .settings import Settings

log = logging.getLogger("gradserve")

LEASE_MARGIN_SECONDS = 2.0  # a lease outlives the request timeout by this much
LOCK_STRIPES = 1024

# KEYS: all sessions (zset id -> expiry ms), the owner's sessions, record, blobs
# ARGV: id, max sessions, ttl ms, owner, manifest, then blob id / bytes pairs
_CREATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then return {-1, n} end
local expires = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
redis.call('ZADD', KEYS[2], expires, ARGV[1])
redis.call('HSET', KEYS[3], 'v', 1, 'm', ARGV[5], 'owner', ARGV[4], 'created', now)
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
return {1, now, expires}
"""

# KEYS: record, lease, blobs, all sessions, the owner's sessions
# ARGV: id, token, lease ms, hold ms (ttl + lease), owner, the version the caller holds
# -> {0} unknown, {-1, lease ms left} busy, {1, version, created, expires, manifest or false}
_ACQUIRE = """
local rec = redis.call('HMGET', KEYS[1], 'v', 'owner', 'created')
if not rec[1] or rec[2] ~= ARGV[5] then return {0} end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  return {-1, redis.call('PTTL', KEYS[2])}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = now + tonumber(ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[4], expires, ARGV[1])
redis.call('ZADD', KEYS[5], expires, ARGV[1])
local m = false
if rec[1] ~= ARGV[6] then m = redis.call('HGET', KEYS[1], 'm') end
return {1, tonumber(rec[1]), tonumber(rec[3]), expires, m}
"""

# KEYS: record, lease, blobs, all sessions, the owner's sessions
# ARGV: id, token, expected version, ttl ms, manifest ('' = unchanged), number of dropped blobs,
#       dropped ids..., then new blob id / bytes pairs
# -> {0} gone, {-1} the lease is someone else's, {-2} the version moved, {1, version, expires}
_COMMIT = """
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[2] then return {-1} end
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {0} end
if v ~= ARGV[3] then return {-2} end
if ARGV[5] ~= '' then
  v = tostring(tonumber(v) + 1)
  redis.call('HSET', KEYS[1], 'v', v, 'm', ARGV[5])
  local ndrop = tonumber(ARGV[6])
  for i = 7, 6 + ndrop do redis.call('HDEL', KEYS[3], ARGV[i]) end
  for i = 7 + ndrop, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = now + tonumber(ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[4], expires, ARGV[1])
redis.call('ZADD', KEYS[5], expires, ARGV[1])
if holder then redis.call('DEL', KEYS[2]) end
return {1, tonumber(v), expires}
"""

# KEYS: lease; ARGV: token
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# KEYS: record, blobs, all sessions, the owner's sessions; ARGV: id, owner
_DELETE = """
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner or owner ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
"""

# KEYS: a zset of sessions -> how many have not expired
_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""


def unavailable(e: Exception) -> Problem:
    log.warning("session store unreachable: %s", e)
    return Problem(503, "store-unavailable", "the session store (Redis) does not answer; try again shortly",
                   headers={"Retry-After": "1"})


def busy(session_id: str, detail: str) -> Problem:
    return Problem(503, "session-busy", f"session '{session_id}' {detail}; try again", headers={"Retry-After": "1"})


@dataclass(eq=False)
class LiveCopy:
    """A session as this process last saw it at `version`, with the stored id of each array it holds."""

    namespace: Namespace
    version: int
    blobs: dict[str, np.ndarray]  # blob id -> C-ordered array, exactly as stored
    manifest: bytes
    ids: dict[int, str] = field(default_factory=dict)  # id(array) -> blob id, valid while `blobs` holds them
    # checksums of the parameters' arrays (leaves that require grad): the one kind of array that an
    # optimizer may update in place, which must then be written again under a new id
    sums: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.remember(self.blobs)

    def remember(self, blobs: dict[str, np.ndarray]) -> None:
        self.blobs = blobs
        self.ids = {id(a): bid for bid, a in blobs.items()}
        self.sums = {bid: zlib.crc32(blobs[bid]) for bid in _param_blobs(self.namespace, self.ids)}

    def blob_id(self, root: np.ndarray) -> str:
        """The stored id of an array this copy already holds, unchanged; else a fresh one."""
        bid = self.ids.get(id(root))
        if bid is None or bid in self.sums and zlib.crc32(root) != self.sums[bid]:
            return _fresh(root)
        return bid

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.blobs.values())


@dataclass(eq=False)
class RedisSession(Session):
    """A session handle for one request: the live copy and lease token it holds between begin and commit."""

    live: LiveCopy | None = None
    token: str = ""


class Observer:
    """What the store reports to metrics; the default reports nothing."""

    def store_call(self, operation: str, seconds: float) -> None: ...

    def hydration(self, result: str) -> None: ...

    def conflict(self) -> None: ...


class RedisStore:
    """Sessions in Redis, shared by processes; see the module's docstring for the design."""

    def __init__(self, client: redis.Redis, *, max_sessions: int, ttl: float, limits: Limits,
                 request_timeout: float, prefix: str = "gradserve:", live_bytes: int | None = None,
                 observer: Observer | None = None):
        self.r = client
        self.max_sessions = max_sessions
        self.ttl_ms = max(1, int(ttl * 1000))
        self.limits = limits
        self.lease_ms = int((request_timeout + LEASE_MARGIN_SECONDS) * 1000)
        self.wait_seconds = request_timeout + LEASE_MARGIN_SECONDS  # a dead holder's lease is gone by then
        self.prefix = prefix
        self.live_bytes = live_bytes if live_bytes is not None else 4 * (limits.max_session_bytes or 1 << 30)
        self.observer = observer or Observer()
        self._live: collections.OrderedDict[str, LiveCopy] = collections.OrderedDict()
        self._live_lock = threading.Lock()
        self._stripes = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._create = client.register_script(_CREATE)
        self._acquire = client.register_script(_ACQUIRE)
        self._commit = client.register_script(_COMMIT)
        self._release = client.register_script(_RELEASE)
        self._delete = client.register_script(_DELETE)
        self._count = client.register_script(_COUNT)

    @classmethod
    def from_settings(cls, settings: Settings, observer: Observer | None = None) -> RedisStore:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2,
                                      socket_timeout=settings.REQUEST_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS,
                                      retry=Retry(NoBackoff(), 1), health_check_interval=10)
        limits = Limits(max_tensor_elements=settings.MAX_TENSOR_ELEMENTS,
                        max_session_bytes=settings.MAX_SESSION_BYTES)
        return cls(client, max_sessions=settings.MAX_SESSIONS, ttl=settings.SESSION_TTL_SECONDS, limits=limits,
                   request_timeout=settings.REQUEST_TIMEOUT_SECONDS, observer=observer)

    # ------------------------------------------------------------------ keys

    def _keys(self, session_id: str, owner: str | None) -> tuple[str, str, str, str, str]:
        p = self.prefix
        return (f"{p}s:{session_id}", f"{p}l:{session_id}", f"{p}b:{session_id}", f"{p}sessions",
                f"{p}o:{owner or ''}")

    @contextmanager
    def _call(self, operation: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            raise unavailable(e) from None
        except redis.RedisError as e:  # an answer that is not a connection failure: still not usable now
            raise unavailable(e) from None
        finally:
            self.observer.store_call(operation, time.perf_counter() - start)

    # ------------------------------------------------------------------ live copies

    def _live_get(self, session_id: str) -> LiveCopy | None:
        with self._live_lock:
            live = self._live.get(session_id)
            if live is not None:
                self._live.move_to_end(session_id)
            return live

    def _live_put(self, session_id: str, live: LiveCopy) -> None:
        with self._live_lock:
            self._live[session_id] = live
            self._live.move_to_end(session_id)
            total = sum(c.nbytes for c in self._live.values())
            while total > self.live_bytes and len(self._live) > 1:
                _, old = self._live.popitem(last=False)
                total -= old.nbytes

    def _live_drop(self, session_id: str) -> None:
        with self._live_lock:
            self._live.pop(session_id, None)

    # ------------------------------------------------------------------ the store interface

    def create(self, namespace: Namespace, owner: str | None = None) -> Session:
        session_id = secrets.token_urlsafe(24)
        rec, _, blobs_key, all_key, owner_key = self._keys(session_id, owner)
        state = dump(namespace, blob_id=lambda root: secrets.token_hex(8))
        manifest = orjson.dumps(state.manifest)
        args: list[Any] = [session_id, self.max_sessions, self.ttl_ms, owner or "", manifest]
        for bid, root in state.blobs.items():
            args += [bid, memoryview(root).cast("B") if root.size else b""]
        with self._call("create"):
            answer = self._create(keys=[all_key, owner_key, rec, blobs_key], args=args)
        if answer[0] == -1:
            raise Problem(413, "limit-exceeded",
                          f"the server holds {answer[1]} sessions, its limit (GRADSERVE_MAX_SESSIONS); delete a "
                          f"session or wait for idle ones to expire")
        self._live_put(session_id, LiveCopy(namespace, 1, state.blobs, manifest))
        return RedisSession(session_id, namespace, answer[1] / 1000, answer[2] / 1000, owner,
                            lock=self._stripe(session_id))

    def get(self, session_id: str, owner: str | None = None) -> Session:
        # No round trip here (this runs on the event loop): whether the session exists, and is the caller's,
        # is learned when `begin` takes its lease, which answers 404 exactly as an unknown id.
        return RedisSession(session_id, None, 0.0, 0.0, owner, lock=self._stripe(session_id))  # type: ignore[arg-type]

    def _stripe(self, session_id: str) -> threading.Lock:
        return self._stripes[hash(session_id) % LOCK_STRIPES]

    def begin(self, session: RedisSession) -> None:  # type: ignore[override]
        rec, lease, blobs_key, all_key, owner_key = self._keys(session.id, session.owner)
        token = secrets.token_hex(16)
        live = self._live_get(session.id)
        deadline = time.monotonic() + self.wait_seconds
        pause = 0.001
        while True:
            with self._call("acquire"):
                answer = self._acquire(keys=[rec, lease, blobs_key, all_key, owner_key],
                                       args=[session.id, token, self.lease_ms, self.ttl_ms + self.lease_ms,
                                             session.owner or "", -1 if live is None else live.version])
            if answer[0] == 0:
                self._live_drop(session.id)
                raise session_not_found(session.id)
            if answer[0] == 1:
                break
            if time.monotonic() > deadline:
                raise busy(session.id, "is held by another request for too long")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        _, version, created, expires, manifest = answer
        session.token = token
        try:
            if live is None or live.version != version:
                live = self._hydrate(session.id, blobs_key, version, manifest, live)
            else:
                self.observer.hydration("hit")
        except BaseException:
            self._release_quietly(lease, token)
            raise
        session.live = live
        session.namespace = live.namespace
        # the expiry the commit will set (the session is held a lease longer while this request runs)
        session.created_at, session.expires_at = created / 1000, (expires - self.lease_ms) / 1000

    def _hydrate(self, session_id: str, blobs_key: str, version: int, manifest: bytes | None,
                 old: LiveCopy | None) -> LiveCopy:
        self.observer.hydration("miss")
        if not manifest:
            raise self._corrupt(session_id, "the record has no manifest")
        try:
            data = orjson.loads(manifest)
            sizes = check_sizes(data.get("blobs") if type(data) is dict else None, self.limits)
            reuse = {bid: old.blobs[bid] for bid in sizes if old is not None and bid in old.blobs}
            wanted = [bid for bid in sizes if bid not in reuse]
            fetched: dict[str, bytes] = {}
            if wanted:
                with self._call("load"):
                    values = self.r.hmget(blobs_key, wanted)
                fetched = {bid: v for bid, v in zip(wanted, values, strict=True) if v is not None}
            loaded = load_state(data, fetched, self.limits, arrays=reuse)
        except orjson.JSONDecodeError as e:
            raise self._corrupt(session_id, f"its manifest is not JSON ({e})") from None
        except EngineError as e:
            raise self._corrupt(session_id, e.detail) from None
        live = LiveCopy(loaded.namespace, version, loaded.blobs, manifest)
        self._live_put(session_id, live)
        return live

    def _corrupt(self, session_id: str, detail: str) -> Problem:
        self._live_drop(session_id)
        return Problem(422, "corrupt-session", f"session '{session_id}' cannot be loaded: {detail}"[:500])

    def commit(self, session: RedisSession) -> None:  # type: ignore[override]
        live = session.live
        assert live is not None, "commit without begin"
        rec, lease, blobs_key, all_key, owner_key = self._keys(session.id, session.owner)
        try:
            state = dump(live.namespace, blob_id=live.blob_id)
            manifest = orjson.dumps(state.manifest)
        except BaseException:
            self._live_drop(session.id)
            self._release_quietly(lease, session.token)
            raise
        args: list[Any] = [session.id, session.token, live.version, self.ttl_ms]
        if manifest == live.manifest:
            args += [b"", 0]
        else:
            dropped = [bid for bid in live.blobs if bid not in state.blobs]
            args += [manifest, len(dropped), *dropped]
            for bid, root in state.blobs.items():
                if bid not in live.blobs:
                    args += [bid, memoryview(root).cast("B") if root.size else b""]
        try:
            with self._call("commit"):
                answer = self._commit(keys=[rec, lease, blobs_key, all_key, owner_key], args=args)
        except Problem:
            self._live_drop(session.id)  # whether Redis kept it is unknown: the next request reloads
            raise
        if answer[0] != 1:
            self._live_drop(session.id)
            if answer[0] == 0:
                raise session_not_found(session.id)
            self.observer.conflict()
            raise busy(session.id, "was changed by another request while this one ran (its hold had expired), "
                                   "so this request was not applied")
        if manifest != live.manifest:
            live.version, live.manifest = answer[1], manifest
            live.remember(state.blobs)
            self._live_put(session.id, live)
        session.expires_at = answer[2] / 1000

    def abort(self, session: RedisSession, error: BaseException) -> None:  # type: ignore[override]
        if not isinstance(error, (EngineError, Problem)):
            # engine errors leave the namespace exactly as it was; anything else might not have
            self._live_drop(session.id)
        _, lease, *_ = self._keys(session.id, session.owner)
        self._release_quietly(lease, session.token)

    def _release_quietly(self, lease: str, token: str) -> None:
        try:
            with self._call("release"):
                self._release(keys=[lease], args=[token])
        except Problem:
            pass  # the lease expires by itself

    def delete(self, session_id: str, owner: str | None = None) -> None:
        rec, _, blobs_key, all_key, owner_key = self._keys(session_id, owner)
        with self._call("delete"):
            done = self._delete(keys=[rec, blobs_key, all_key, owner_key], args=[session_id, owner or ""])
        self._live_drop(session_id)
        if not done:
            raise session_not_found(session_id)

    def count(self) -> int:
        with self._call("count"):
            return int(self._count(keys=[f"{self.prefix}sessions"]))

    def count_owned(self, owner: str | None) -> int:
        with self._call("count"):
            return int(self._count(keys=[f"{self.prefix}o:{owner or ''}"]))

    def sweep(self) -> int:
        # Redis expires the records by itself; this only trims the indexes that count sessions
        self.count()
        return 0

    def ping(self) -> None:
        with self._call("ping"):
            self.r.ping()

    def close(self) -> None:
        self.r.close()


def _fresh(root: np.ndarray) -> str:
    return secrets.token_hex(8)


def _param_blobs(namespace: Namespace, ids: dict[int, str]) -> list[str]:
    found = []
    for t in namespace.bindings.values():
        if t.grad_fn is None and t.requires_grad:
            root = t.data
            while isinstance(root.base, np.ndarray):
                root = root.base
            if id(root) in ids:
                found.append(ids[id(root)])
    return found
