--[[
  Wall-clock closing (the scheduled `closeWindows` handler): closes every open window whose
  closeAt (end + grace) is at or before `now`, even when its devices went quiet, and queues its
  final aggregate in the outbox. Idempotent: a window closes once.

  KEYS[1] open windows (key -> closeAt)   KEYS[2] outbox   KEYS[3] counters
  ARGV[1] now (ms)   ARGV[2] retention (ms)   ARGV[3] at most this many windows per call

  Returns { windows it looked at, windows it closed } (call again while the first is ARGV[3]).
]]
local now, retention, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
local closed = 0
for _, key in ipairs(due) do
  closed = closed + closeWindow(key, now, retention, KEYS[1], KEYS[2])
end
if closed > 0 then redis.call('HINCRBY', KEYS[3], 'closed', closed) end
return { #due, closed }
