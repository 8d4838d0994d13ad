--[[
  Deletes the lease of a shard that left the stream (trimmed away after its end), so its
  children count its parent as gone.

  KEYS[1] the lease (hash)
  KEYS[2] the lease group's shard index (set)

  ARGV[1] shard id

  Returns 1 deleted, 0 there was none.
]]
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
