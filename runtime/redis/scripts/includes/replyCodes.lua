-- Negative replies, mapped to one enum in runtime/redis/scriptCodes.ts.
local LEASE_NOT_FOUND = -1
local LEASE_HELD = -2
local LEASE_LOST = -3
local CHECKPOINT_BACKWARDS = -4
local SHARD_ENDED = -5
local WRONG_TYPE = -6
