--[[
  Creates a shard's lease unless it exists (syncShards). Never touches an existing lease:
  its owner and checkpoint are the truth.

  KEYS[1] the lease (hash)
  KEYS[2] the lease group's shard index (set)

  ARGV[1] shard id
  ARGV[2] initial checkpoint: TRIM_HORIZON | LATEST | AT_TIMESTAMP
  ARGV[3] epoch ms for AT_TIMESTAMP, else ''
  ARGV[4] parent shard ids as a JSON array

  Returns 1 created, 0 already there.
]]
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1],
  'shardId', ARGV[1], 'owner', '', 'counter', 0, 'checkpoint', ARGV[2], 'atTimestamp', ARGV[3],
  'parentShardIds', ARGV[4], 'ownerSwitchesSinceCheckpoint', 0, 'expiresAt', 0)
return 1
