--[[
  Renews a lease its owner still holds: same owner and the counter it got from its last take
  or renewal. Bumps the counter and moves the expiry to Redis time + duration. A lease that
  expired but that nobody took is still ours: nobody else can have processed it.

  KEYS[1] the lease (hash)

  ARGV[1] worker id
  ARGV[2] counter the worker holds
  ARGV[3] lease duration ms

  Returns the lease as HGETALL pairs, or LEASE_NOT_FOUND, LEASE_LOST.
]]
-- @include "replyCodes"
-- @include "redisTimeMs"
if redis.call('EXISTS', KEYS[1]) == 0 then return LEASE_NOT_FOUND end
local lease = redis.call('HMGET', KEYS[1], 'owner', 'counter')
if lease[1] ~= ARGV[1] or tonumber(lease[2]) ~= tonumber(ARGV[2]) then return LEASE_LOST end
redis.call('HSET', KEYS[1], 'counter', tonumber(lease[2]) + 1, 'expiresAt', redisTimeMs() + tonumber(ARGV[3]))
return redis.call('HGETALL', KEYS[1])
