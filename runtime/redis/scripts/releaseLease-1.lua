--[[
  Gives a lease up (clean shutdown, or after SHARD_END) so another worker takes it at once
  instead of waiting for the expiry. Only its holder can.

  KEYS[1] the lease (hash)

  ARGV[1] worker id
  ARGV[2] counter the worker holds

  Returns 1 released, or LEASE_NOT_FOUND, LEASE_LOST.
]]
-- @include "replyCodes"
if redis.call('EXISTS', KEYS[1]) == 0 then return LEASE_NOT_FOUND end
local lease = redis.call('HMGET', KEYS[1], 'owner', 'counter')
if lease[1] ~= ARGV[1] or tonumber(lease[2]) ~= tonumber(ARGV[2]) then return LEASE_LOST end
redis.call('HSET', KEYS[1], 'owner', '', 'expiresAt', 0)
return 1
