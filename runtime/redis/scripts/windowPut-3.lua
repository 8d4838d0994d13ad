--[[
  Stores a tumbling window's state (carried from one invocation of the window to the next)
  and indexes the window as open for its shard. Optionally fenced: only the worker that holds
  the shard's lease with this counter may write, so a zombie cannot overwrite the state.

  KEYS[1] the window (hash: start, end, state)
  KEYS[2] the shard's open windows (sorted set: start -> start)
  KEYS[3] the shard's lease (hash), read only when fenced

  ARGV[1] window start (epoch ms)
  ARGV[2] window end (epoch ms)
  ARGV[3] state (JSON, size already checked by the caller)
  ARGV[4] fencing worker id, or '' for no fence
  ARGV[5] fencing counter

  Returns 1, or LEASE_LOST.
]]
-- @include "replyCodes"
if ARGV[4] ~= '' then
  local lease = redis.call('HMGET', KEYS[3], 'owner', 'counter')
  if lease[1] ~= ARGV[4] or tonumber(lease[2]) ~= tonumber(ARGV[5]) then return LEASE_LOST end
end
redis.call('HSET', KEYS[1], 'start', ARGV[1], 'end', ARGV[2], 'state', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
return 1
