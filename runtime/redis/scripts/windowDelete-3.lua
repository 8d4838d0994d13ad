--[[
  Forgets a tumbling window (after its final invocation succeeded). Optionally fenced like
  windowPut.

  KEYS[1] the window (hash)
  KEYS[2] the shard's open windows (sorted set)
  KEYS[3] the shard's lease (hash), read only when fenced

  ARGV[1] window start (epoch ms)
  ARGV[2] fencing worker id, or '' for no fence
  ARGV[3] fencing counter

  Returns 1 deleted, 0 there was none, or LEASE_LOST.
]]
-- @include "replyCodes"
if ARGV[2] ~= '' then
  local lease = redis.call('HMGET', KEYS[3], 'owner', 'counter')
  if lease[1] ~= ARGV[2] or tonumber(lease[2]) ~= tonumber(ARGV[3]) then return LEASE_LOST end
end
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
