"""A distributed scan's state in Redis: its keys, their lifetimes, and the Lua that keeps it
consistent.

Every key of scan ``ID`` is ``keywire:{ID}:…`` (the braces keep a scan's keys in one Redis
Cluster slot, so one script may touch several):

- ``job``: the scan's options as JSON, **without any credential** (only the names of the
  headers the workers add from their own environment). The coordinator keeps it alive
  (:data:`JOB_TTL_MS`, renewed every few seconds) and deletes it when the scan ends or is
  cancelled; a worker drops every message of a scan whose job is gone.
- ``done``: a hash, target URL -> ``1``, for each target whose result is written: the
  idempotence key (scan id + target) that makes a redelivered message produce nothing.
- ``records``: a list of target records (JSONL lines) the coordinator pops as they come.
- ``attempts``: a hash, target URL -> how many times a worker took its message: a target that
  keeps killing workers (or overrunning the message time limit) is given up after
  :data:`MAX_ATTEMPTS`, as not tested.
- ``slots:ADDRESS:PORT``: a sorted set of connection leases on one server (:mod:`.slots`).
"""

from __future__ import annotations

from .._dataclass import dataclass

#: The job key lives this long unless the coordinator renews it (a coordinator that died
#: leaves no scan behind for longer than this).
JOB_TTL_MS = 60_000
#: The coordinator renews the job key this often.
JOB_RENEW_S = 10.0
#: Results, records and attempts are kept at most this long after their last write.
RESULT_TTL_MS = 24 * 3600 * 1000
#: A target's message is taken at most this many times (a crash, a kill, a time limit each
#: count one); the next take reports it as not tested.
MAX_ATTEMPTS = 3
#: A connection lease lasts this long unless its worker renews it: the slots of a worker that
#: was killed come back within it.
LEASE_MS = 15_000
#: Leases are renewed this often.
RENEW_S = 4.0


@dataclass(frozen=True)
class ScanKeys:
    """The Redis keys of one scan (see the module docstring)."""

    scan_id: str

    @property
    def prefix(self) -> str:
        return f"keywire:{{{self.scan_id}}}:"

    @property
    def job(self) -> str:
        return self.prefix + "job"

    @property
    def done(self) -> str:
        return self.prefix + "done"

    @property
    def records(self) -> str:
        return self.prefix + "records"

    @property
    def attempts(self) -> str:
        return self.prefix + "attempts"

    def slots(self, server: tuple[str, int]) -> str:
        return f"{self.prefix}slots:{server[0]}:{server[1]}"


#: Take a message: KEYS job, done, attempts; ARGV url, ttl (ms). Returns ``{take number, job}``,
#: ``{-1}`` when the scan is over (its job is gone), ``{0}`` when the target's record is already
#: written (a message delivered again): one round trip, and nothing written for a scan that
#: is over.
TAKE = """
local job = redis.call('GET', KEYS[1])
if not job then return {-1} end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {0} end
local n = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return {n, job}
"""

#: Write a target's record once: KEYS job, done, records; ARGV url, record line, ttl (ms).
#: Returns 1 when written, 0 when the target already had one (a redelivered message), -1 when
#: the scan is over (cancelled, or its coordinator is gone): nothing is written then.
STORE_ONCE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], ARGV[1], '1') == 0 then return 0 end
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1
"""

#: Take a lease on a server: KEYS slots; ARGV limit, lease (ms), token. 1 if taken, else 0.
#: Expired leases (a worker that died holding them) are dropped first. Redis's clock decides,
#: so the workers' clocks need not agree.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
  return 1
end
return 0
"""

#: Renew leases still held: KEYS slots; ARGV lease (ms), token... (only those still there).
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1]))
return 1
"""
