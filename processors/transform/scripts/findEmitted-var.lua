--[[
  Which (device, seq) pairs of a batch were already emitted to the enriched stream, and from
  which stream record (processors/transform/dedupeWindow.ts).

  KEYS[i]  the dedupe window of the i-th reading's device: a sorted set, score = seq,
           member = "<seq>:<claim>" where claim fingerprints the (scope, position) of the
           stream record whose enriched reading was produced
  ARGV[i]  the i-th reading's seq

  Returns, per reading, the claim stored for its seq, or '' when the window holds none.
  Read-only.
]]
local out = {}
for i = 1, #KEYS do
  local found = redis.call('ZRANGEBYSCORE', KEYS[i], ARGV[i], ARGV[i], 'LIMIT', 0, 1)
  local member = found[1]
  if member then
    out[i] = string.sub(member, string.find(member, ':', 1, true) + 1)
  else
    out[i] = ''
  end
end
return out
