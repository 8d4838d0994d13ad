--[[
  Shared by the aggregate's scripts (prepended by aggregateScripts.ts).

  Window hash fields: scope, scopeId, kind, spec, start, end, closeAt, status (open|closed),
  acc (sketch accuracy), closedAt; sessions also sx (their session index key) and sid.
  Per metric m: `s:<m>` = the twelve stats numbers (metricStats.ts: count,sum,min,max,mean,m2,
  firstTime,firstSeq,firstValue,lastTime,lastSeq,lastValue) as little-endian doubles (struct, 96
  bytes: exact and cheap, where text would cost a %.17g per number), and `b:<m>:<bucket>` =
  sketch counts.
]]

-- %.17g reads back as the same double (tostring keeps only 14 digits)
local function num(x) return string.format('%.17g', x) end

local STATS = '<dddddddddddd'

local function unpackStats(bytes)
  return { struct.unpack(STATS, bytes) } -- (a 13th value, the next position, is never read)
end

local function packStats(s)
  return struct.pack(STATS, s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12])
end

-- (time, seq, value) order: the twin of compareAt in metricStats.ts
local function compareAt(t1, s1, v1, t2, s2, v2)
  if t1 ~= t2 then return t1 < t2 and -1 or 1 end
  if s1 ~= s2 then return s1 < s2 and -1 or 1 end
  if v1 ~= v2 then return v1 < v2 and -1 or 1 end
  return 0
end

-- Chan et al. merge, operation for operation the same as mergeStats in metricStats.ts
local function mergeStats(a, b)
  local count = a[1] + b[1]
  local mean = (a[1] * a[5] + b[1] * b[5]) / count
  local delta = b[5] - a[5]
  local m2 = a[6] + b[6] + ((delta * delta) * (a[1] * b[1])) / count
  local out = { count, a[2] + b[2], (b[3] < a[3]) and b[3] or a[3], (b[4] > a[4]) and b[4] or a[4], mean, m2 }
  if compareAt(a[7], a[8], a[9], b[7], b[8], b[9]) <= 0 then out[7], out[8], out[9] = a[7], a[8], a[9] else out[7], out[8], out[9] = b[7], b[8], b[9] end
  if compareAt(a[10], a[11], a[12], b[10], b[11], b[12]) >= 0 then out[10], out[11], out[12] = a[10], a[11], a[12] else out[10], out[11], out[12] = b[10], b[11], b[12] end
  return out
end

-- A command whose arguments end in a long list, in slices of 1000 (unpack has a C-stack limit
-- of a few thousand values; 1000 keeps field/value and score/member pairs together). Returns
-- the replies of the slices, concatenated when they are lists.
local function callMany(command, key, option, list)
  local replies = {}
  local i, n = 1, #list
  while i <= n do
    local j = math.min(i + 999, n)
    local reply
    if option then reply = redis.call(command, key, option, unpack(list, i, j)) else reply = redis.call(command, key, unpack(list, i, j)) end
    if type(reply) == 'table' then for _, value in ipairs(reply) do replies[#replies + 1] = value end end
    i = j + 1
  end
  return replies
end

local function hsetMany(key, flat)
  callMany('HSET', key, nil, flat)
end

-- Marks an open window closed, queues its final aggregate in the outbox, and keeps it for the
-- retention period. Returns 1 when it closed it, 0 when it was closed already or is gone.
local function closeWindow(key, now, retentionMs, openKey, outboxKey)
  local status = redis.call('HGET', key, 'status')
  if status ~= 'open' then
    redis.call('ZREM', openKey, key)
    return 0
  end
  redis.call('HSET', key, 'status', 'closed', 'closedAt', num(now))
  redis.call('ZREM', openKey, key)
  redis.call('PEXPIRE', key, retentionMs)
  local session = redis.call('HMGET', key, 'sx', 'sid', 'start', 'end', 'gap')
  if session[1] and session[2] then
    local last = tonumber(session[4]) - tonumber(session[5])
    redis.call('HSET', session[1], session[2], num(tonumber(session[3])) .. ',' .. num(last) .. ',closed')
    redis.call('HINCRBY', session[1], 'v', 1)
  end
  redis.call('ZADD', outboxKey, now, 'win|' .. key)
  return 1
end
