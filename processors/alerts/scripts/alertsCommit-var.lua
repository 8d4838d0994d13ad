--[[
  alertsCommit: every write of the alerts processor, in one atomic step
  (processors/alerts/stateStore.ts builds the plan).

  1. Exactly-once guard, as runtime/exactlyOnce (applyOnce): when ARGV[1] is a position at or
     below the scope's recorded one, the batch was applied already: nothing is written.
  2. Optimistic concurrency: every entity state the plan replaces must still have the version
     the caller read (field `v` of its hash, '0' when absent); otherwise another writer (the
     heartbeat timer, an operator, a zombie worker) changed it: nothing is written, the caller
     reads again and re-evaluates.
  3. The ops, then the new position.

  KEYS[1]      the scope's last applied position (string); unused when ARGV[1] is ''
  KEYS[2..n]   every key the ops touch

  ARGV[1]      the batch's LAST position (decimal), or '' for writes no stream orders (timer, operator)
  ARGV[2]      JSON { "cas": [[keyIndex, version], ...], "ops": [[name, keyIndex, arg, ...], ...] }
               names and arguments: state (version, stateJson, deviceJson) | set (value, pxMs or '')
               | zadd (score, member) | zaddgt (score, member) | zrem (member)
               | zremrangebyscore (min, max) | hset (field, value) | sadd (member)
  ARGV[3..]    large values (JSON documents): an argument { "a": n } in ARGV[2] stands for ARGV[n],
               so documents are not escaped into the plan and parsed again by cjson

  Returns { 1 } applied, { 0, last } duplicate, { 2, key } a state changed since it was read.
]]
-- @include "comparePositions"

local position = ARGV[1]
if position ~= '' then
  local last = redis.call('GET', KEYS[1])
  if last and comparePositions(position, last) <= 0 then return { 0, last } end
end

local plan = cjson.decode(ARGV[2])
for _, check in ipairs(plan.cas) do
  local key = KEYS[check[1]]
  local version = redis.call('HGET', key, 'v') or '0'
  if version ~= check[2] then return { 2, key } end
end

local ARITY = { state = 3, set = 2, zadd = 2, zaddgt = 2, zrem = 1, zremrangebyscore = 2, hset = 2, sadd = 1 }
-- check every op before the first write: Redis does not roll back a half-run script
for i, op in ipairs(plan.ops) do
  local arity = ARITY[op[1]]
  if not arity or #op ~= arity + 2 or not KEYS[op[2]] then
    return redis.error_reply('alertsCommit: op ' .. i .. ' is malformed (' .. tostring(op[1]) .. ')')
  end
end

for _, op in ipairs(plan.ops) do
  for j = 3, #op do
    if type(op[j]) == 'table' then op[j] = ARGV[op[j].a] end
  end
  local name, key = op[1], KEYS[op[2]]
  if name == 'state' then
    redis.call('HSET', key, 'v', op[3], 's', op[4], 'd', op[5])
  elseif name == 'set' then
    if op[4] ~= '' then redis.call('SET', key, op[3], 'PX', op[4]) else redis.call('SET', key, op[3]) end
  elseif name == 'zadd' then
    redis.call('ZADD', key, op[3], op[4])
  elseif name == 'zaddgt' then
    redis.call('ZADD', key, 'GT', op[3], op[4])
  elseif name == 'zrem' then
    redis.call('ZREM', key, op[3])
  elseif name == 'zremrangebyscore' then
    redis.call('ZREMRANGEBYSCORE', key, op[3], op[4])
  elseif name == 'hset' then
    redis.call('HSET', key, op[3], op[4])
  elseif name == 'sadd' then
    redis.call('SADD', key, op[3])
  end
end

if position ~= '' then redis.call('SET', KEYS[1], position) end
return { 1 }
