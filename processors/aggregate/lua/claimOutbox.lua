--[[
  Claims outbox entries that are due: each gets a lease (its score moves to now + lease), so
  two flushers (a handler after its batch, the timer) rarely produce the same record twice; a
  flusher that dies leaves its claim to expire and the next one takes the entries again.

  KEYS[1] outbox (id -> due time)   KEYS[2] payloads (id -> encoded record)
  ARGV[1] now (ms)   ARGV[2] lease (ms)   ARGV[3] at most this many

  Returns a flat list: id, payload (false for windows, whose record is built from the window), ...
]]
local now, lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
if #ids == 0 then return {} end
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], now + lease, id)
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or false
end
return out
