--[[
  Takes a shard lease: KCL's conditional update. Without an expected counter it succeeds only
  if the lease is unowned, expired (by Redis time) or already ours; with one (a steal, or a
  take of a lease seen expired) only if nobody took or renewed it since the caller read it.
  Every take bumps the counter: the fencing token that makes the previous owner's renewals
  and checkpoints fail.

  KEYS[1] the lease (hash)

  ARGV[1] worker id
  ARGV[2] expected counter, or '' for none
  ARGV[3] lease duration ms

  Returns the lease as HGETALL pairs, or LEASE_NOT_FOUND, LEASE_HELD, SHARD_ENDED.
]]
-- @include "replyCodes"
-- @include "redisTimeMs"
if redis.call('EXISTS', KEYS[1]) == 0 then return LEASE_NOT_FOUND end
local lease = redis.call('HMGET', KEYS[1], 'owner', 'counter', 'checkpoint', 'expiresAt')
local owner, counter, checkpoint, expiresAt = lease[1], tonumber(lease[2]), lease[3], tonumber(lease[4])
if checkpoint == 'SHARD_END' then return SHARD_ENDED end
local now = redisTimeMs()
if ARGV[2] ~= '' then
  if tonumber(ARGV[2]) ~= counter then return LEASE_HELD end
elseif owner ~= '' and owner ~= ARGV[1] and expiresAt > now then
  return LEASE_HELD
end
if owner ~= ARGV[1] then redis.call('HINCRBY', KEYS[1], 'ownerSwitchesSinceCheckpoint', 1) end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'counter', counter + 1, 'expiresAt', now + tonumber(ARGV[3]))
return redis.call('HGETALL', KEYS[1])
