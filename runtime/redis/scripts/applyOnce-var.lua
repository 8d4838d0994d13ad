--[[
  Exactly-once Redis effects: applies a batch of updates and records the scope's last applied
  position in one atomic step. A delivery whose position is at or below the recorded one (a
  replay after a crash, a retried batch) applies nothing.

  Redis does not roll a script back when a command fails half-way, so every op is checked
  against the keys' current types and values first; nothing is written unless all can apply.

  KEYS[1]      the scope's last applied position (string)
  KEYS[2..n]   the keys the ops touch (variable: ioredis passes the count)

  ARGV[1]      the batch's position: its LAST record's offset or sequence number (decimal)
  ARGV[2]      the ops as one JSON array of [name, index into KEYS, field ('' if none), value as text]
               (one argument instead of four per op: ioredis spends more on many arguments
               than cjson on one string); names: hincrby hincrbyfloat hset hsetnx hmax hmin
               incrby set zadd pexpire

  Returns 1 applied, 0 duplicate, or { WRONG_TYPE, op number (1-based) }.
]]
-- @include "replyCodes"
-- @include "comparePositions"

local last = redis.call('GET', KEYS[1])
if last and comparePositions(ARGV[1], last) <= 0 then return 0 end

local TYPE_OF = {
  hincrby = 'hash', hincrbyfloat = 'hash', hset = 'hash', hsetnx = 'hash', hmax = 'hash', hmin = 'hash',
  incrby = 'string', set = 'string', zadd = 'zset',
}
-- existing values a numeric op adds to or compares with must be numbers of the right kind
local function isInteger(v) return string.match(v, '^%-?%d+$') ~= nil end
local function isNumber(v) return tonumber(v) ~= nil end
local NUMERIC_CHECK = { hincrby = isInteger, hincrbyfloat = isNumber, hmax = isNumber, hmin = isNumber, incrby = isInteger }

local ops = cjson.decode(ARGV[2])

-- 1. check: every key has the type its ops need, and every stored value a numeric op reads
--    is a number of the right kind. One TYPE per key and one HMGET/GET per key, whose values
--    are kept (current[key][field]) so hmax/hmin need no further reads.
local typeOf = {}
local wanted = {} -- key -> { fields = {...}, seen = {field = true} } for numeric reads
for i = 1, #ops do
  local op, key, field = ops[i][1], KEYS[ops[i][2]], ops[i][3]
  local want = TYPE_OF[op]
  if want then
    if typeOf[key] == nil then typeOf[key] = redis.call('TYPE', key)['ok'] end
    if typeOf[key] ~= 'none' and typeOf[key] ~= want then return { WRONG_TYPE, i } end
    if NUMERIC_CHECK[op] then
      local w = wanted[key]
      if not w then w = { fields = {}, seen = {} }; wanted[key] = w end
      if not w.seen[field] then w.seen[field] = true; table.insert(w.fields, field) end
    end
  end
end
local current = {}
for key, w in pairs(wanted) do
  local values = {}
  if typeOf[key] == 'hash' then
    local stored = redis.call('HMGET', key, unpack(w.fields))
    for j, field in ipairs(w.fields) do values[field] = stored[j] end
  elseif typeOf[key] == 'string' then
    values[''] = redis.call('GET', key)
  end
  current[key] = values
end
for i = 1, #ops do
  local op, key, field = ops[i][1], KEYS[ops[i][2]], ops[i][3]
  local check = NUMERIC_CHECK[op]
  local stored = check and current[key][field]
  if stored and not check(stored) then return { WRONG_TYPE, i } end
end

-- 2. apply, keeping the known values current
local function remember(key, field, value)
  local values = current[key]
  if values then values[field] = value end
end
for i = 1, #ops do
  local op, key, field, value = ops[i][1], KEYS[ops[i][2]], ops[i][3], ops[i][4]
  if op == 'hincrby' then remember(key, field, tostring(redis.call('HINCRBY', key, field, value)))
  elseif op == 'hincrbyfloat' then remember(key, field, redis.call('HINCRBYFLOAT', key, field, value))
  elseif op == 'hset' then redis.call('HSET', key, field, value); remember(key, field, value)
  elseif op == 'hsetnx' then
    if redis.call('HSETNX', key, field, value) == 1 then remember(key, field, value) end
  elseif op == 'hmax' or op == 'hmin' then
    local stored = current[key][field]
    local n = tonumber(value)
    if not stored or (op == 'hmax' and n > tonumber(stored)) or (op == 'hmin' and n < tonumber(stored)) then
      redis.call('HSET', key, field, value)
      remember(key, field, value)
    end
  elseif op == 'incrby' then remember(key, '', tostring(redis.call('INCRBY', key, value)))
  elseif op == 'set' then redis.call('SET', key, value); remember(key, '', value)
  elseif op == 'zadd' then redis.call('ZADD', key, value, field)
  elseif op == 'pexpire' then redis.call('PEXPIRE', key, value)
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
