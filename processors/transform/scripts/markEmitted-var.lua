--[[
  Records that readings were produced to the enriched stream (processors/transform/dedupeWindow.ts).
  Called only AFTER the produce succeeded: a claim in the window always means "this reading is
  durable downstream", which is what makes dropping a later copy of it safe.

  KEYS[i]    the dedupe window of the i-th reading's device (sorted set, see findEmitted)
  ARGV[1]    most seqs one window keeps (its highest ones)
  ARGV[2]    window TTL in ms, renewed on every mark (a silent device's window expires)
  ARGV[2+i]  "<seq>:<claim>" of the i-th reading

  A seq that already has a claim keeps it: the first stream record emitted for (device, seq)
  stays its owner, so only that record's redelivery is re-emitted later.

  Returns the number of claims added.
]]
local max = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local added = 0
local touched = {}
for i = 1, #KEYS do
  local member = ARGV[2 + i]
  local seq = string.sub(member, 1, string.find(member, ':', 1, true) - 1)
  if redis.call('ZCOUNT', KEYS[i], seq, seq) == 0 then
    redis.call('ZADD', KEYS[i], seq, member)
    added = added + 1
  end
  touched[KEYS[i]] = true
end
for key in pairs(touched) do
  -- keep the `max` highest seqs: rank 0 is the lowest
  redis.call('ZREMRANGEBYRANK', key, 0, -(max + 1))
  redis.call('PEXPIRE', key, ttl)
end
return added
