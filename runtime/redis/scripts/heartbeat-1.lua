--[[
  A worker's heartbeat in its lease group's registry, expiring by Redis time; drops workers
  whose heartbeat expired and lists the live ones.

  KEYS[1] the group's workers (sorted set: worker id -> expiry ms)

  ARGV[1] worker id
  ARGV[2] time to live ms

  Returns { now ms, live worker ids... }.
]]
-- @include "redisTimeMs"
local now = redisTimeMs()
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local reply = redis.call('ZRANGE', KEYS[1], 0, -1)
table.insert(reply, 1, now)
return reply
