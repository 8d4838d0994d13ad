--[[
  `sluice checkpoints rewind`: sets a checkpoint to any position, backwards included. Bumps
  the counter and clears the owner, so the current holder's next renewal or checkpoint fails
  (LEASE_LOST) and whoever takes the lease next reads from the new position.

  KEYS[1] the lease (hash)

  ARGV[1] position: a sequence number, TRIM_HORIZON, LATEST or AT_TIMESTAMP
  ARGV[2] epoch ms for AT_TIMESTAMP, else ''

  Returns the lease as HGETALL pairs, or LEASE_NOT_FOUND.
]]
-- @include "replyCodes"
if redis.call('EXISTS', KEYS[1]) == 0 then return LEASE_NOT_FOUND end
redis.call('HINCRBY', KEYS[1], 'counter', 1)
redis.call('HSET', KEYS[1], 'owner', '', 'expiresAt', 0, 'checkpoint', ARGV[1], 'atTimestamp', ARGV[2], 'ownerSwitchesSinceCheckpoint', 0)
return redis.call('HGETALL', KEYS[1])
