--[[
  Moves a lease's checkpoint, only for the worker that holds it with this counter: a zombie
  (a worker whose lease was taken over while it paused) cannot move it. A checkpoint never
  moves backwards (only `rewind` does) and nothing follows SHARD_END.

  KEYS[1] the lease (hash)

  ARGV[1] worker id
  ARGV[2] counter the worker holds
  ARGV[3] position: a sequence number (decimal string) or SHARD_END

  Returns 1 moved, 0 already there, or LEASE_NOT_FOUND, LEASE_LOST, CHECKPOINT_BACKWARDS, SHARD_ENDED.
]]
-- @include "replyCodes"
-- @include "comparePositions"
if redis.call('EXISTS', KEYS[1]) == 0 then return LEASE_NOT_FOUND end
local lease = redis.call('HMGET', KEYS[1], 'owner', 'counter', 'checkpoint')
if lease[1] ~= ARGV[1] or tonumber(lease[2]) ~= tonumber(ARGV[2]) then return LEASE_LOST end
local current, position = lease[3], ARGV[3]
if current == position then return 0 end
if current == 'SHARD_END' then return SHARD_ENDED end
-- A sequence number after a sentinel (TRIM_HORIZON, LATEST, AT_TIMESTAMP) always moves forward.
if position ~= 'SHARD_END' and string.match(current, '^%d+$') and comparePositions(position, current) < 0 then
  return CHECKPOINT_BACKWARDS
end
redis.call('HSET', KEYS[1], 'checkpoint', position, 'atTimestamp', '', 'ownerSwitchesSinceCheckpoint', 0)
return 1
