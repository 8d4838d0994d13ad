--[==[ (level-2 brackets: the plan's [[...]] lists would end a plain block comment)
  One partition's batch of readings, pre-aggregated by the handler (batchPlanner.ts), applied
  atomically under the runtime's exactly-once guard (runtime/exactlyOnce/guardedScript.ts):
  the guard records the partition's position only if this body applies.

  keys  the keys the plan names, referenced by index (1-based) from the plan
  args  [1] the plan as JSON (aggregateStore.ts encodePlan), [2] the pub/sub message for dashboards:
    now, ret (retention ms), acc (sketch accuracy), wm (new watermark or null),
    k = { scope, scopeOpen, open, outbox (final aggregates), payloads, counters, devices, sites } key indexes,
    channel (pub/sub name),
    seen   = [[keyIndex, ttlMs, deviceId, [seq...]]...]  readings to record as counted
    parts  = [[[metric, [12 stats numbers], [bucket, count, ...]]...]...]  the batch's distinct partial aggregates
    win    = [[keyIndex, indexKeyIndex, meta, partIndex]...]  (windows that took the same readings share a part)
             meta = [scope, scopeId, kind, spec, start, end, closeAt, byWatermark 0|1, sessionIndexKeyIndex|0, sessionId, gap]
    ses    = [[indexKeyIndex, expectedVersion, [[id, "start,last,status"]...], [[intoKeyIndex, fromKeyIndex, fromId, windowIndexKeyIndex]...], [dropId...]]...]
    latest = [[keyIndex, deviceId, siteId, deviceType, time, seq, [[metric, value, time, seq]...]]...]
    sites  = [[siteId, time]...]
    out    = [[outboxKeyIndex, outboxId, payload]...]  late and dead-letter records to produce
    cnt    = { readings, duplicates, late, deadLetters }

  Refuses (writes nothing, returns false) when what the plan assumed no longer holds:
    a reading of `seen` was counted already (another position carried it), a window it adds to
    was closed (the wall-clock timer, or another partition), a session index changed version.
  Reply: JSON { seen = [[deviceId, seq]...], closed = [key...], sessions = [key...] } when
  refused, { closed = n } (windows closed by the watermark) when applied.
]==]
local function apply(keys, args)
  local plan = cjson.decode(args[1])
  local now, retention = plan.now, plan.ret
  local K = plan.k

  -- 1. read and check everything first (Redis does not roll back a half-run script); each
  --    window is read once, with the fields its part will merge into, and kept in `stored`
  local seenConflicts, closedConflicts, sessionConflicts = {}, {}, {}
  for _, entry in ipairs(plan.seen) do
    local flags = callMany('SMISMEMBER', keys[entry[1]], nil, entry[4])
    for i, flag in ipairs(flags) do
      if flag == 1 then seenConflicts[#seenConflicts + 1] = { entry[3], entry[4][i] } end
    end
  end
  local fieldsOfPart = {}
  for p, part in ipairs(plan.parts) do
    local fields = { 'status' }
    for _, metric in ipairs(part) do
      fields[#fields + 1] = 's:' .. metric[1]
      local buckets = metric[3]
      for i = 1, #buckets, 2 do fields[#fields + 1] = 'b:' .. metric[1] .. ':' .. buckets[i] end
    end
    fieldsOfPart[p] = fields
  end
  local stored = {} -- window key -> { field -> value (false: absent) }
  for _, w in ipairs(plan.win) do
    local key, fields = keys[w[1]], fieldsOfPart[w[4]]
    local values = callMany('HMGET', key, nil, fields)
    if values[1] == 'closed' then closedConflicts[#closedConflicts + 1] = key end
    local cache = {}
    for i, field in ipairs(fields) do cache[field] = values[i] end
    stored[key] = cache
  end
  for _, s in ipairs(plan.ses) do
    local version = tonumber(redis.call('HGET', keys[s[1]], 'v') or '0')
    if version ~= s[2] then sessionConflicts[#sessionConflicts + 1] = keys[s[1]] end
  end
  if #seenConflicts > 0 or #closedConflicts > 0 or #sessionConflicts > 0 then
    return false, cjson.encode({ seen = seenConflicts, closed = closedConflicts, sessions = sessionConflicts })
  end

  -- 2. readings counted: dedupe sets live as long as any window could take their readings
  for _, entry in ipairs(plan.seen) do
    callMany('SADD', keys[entry[1]], nil, entry[4])
    redis.call('PEXPIRE', keys[entry[1]], entry[2])
  end

  -- 3. sessions absorbed by another: fold their windows into the survivor's (into its cached
  --    fields when the batch writes them anyway), then update the session index
  for _, s in ipairs(plan.ses) do
    for _, m in ipairs(s[4]) do
      local into, from = keys[m[1]], keys[m[2]]
      local cache = stored[into]
      local fields = redis.call('HGETALL', from)
      local direct = {}
      for i = 1, #fields, 2 do
        local field, value = fields[i], fields[i + 1]
        local prefix = string.sub(field, 1, 2)
        if prefix == 's:' or prefix == 'b:' then
          local current
          if cache and cache[field] ~= nil then current = cache[field] else current = redis.call('HGET', into, field) end
          local merged
          if prefix == 's:' then
            merged = current and packStats(mergeStats(unpackStats(current), unpackStats(value))) or value
          else
            merged = tostring(tonumber(current or '0') + tonumber(value))
          end
          if cache and cache[field] ~= nil then cache[field] = merged else direct[#direct + 1] = field; direct[#direct + 1] = merged end
        end
      end
      if #direct > 0 then hsetMany(into, direct) end
      redis.call('DEL', from)
      redis.call('ZREM', keys[K.open], from)
      redis.call('ZREM', keys[K.scopeOpen], from)
      redis.call('ZREM', keys[m[4]], from)
      redis.call('HDEL', keys[s[1]], m[3])
    end
    for _, put in ipairs(s[3]) do redis.call('HSET', keys[s[1]], put[1], put[2]) end
    for _, id in ipairs(s[5]) do redis.call('HDEL', keys[s[1]], id) end
    if #s[4] > 0 or #s[5] > 0 or #s[3] > 0 then redis.call('HINCRBY', keys[s[1]], 'v', 1) end
    redis.call('PEXPIRE', keys[s[1]], retention)
  end

  -- 4. windows: create on first touch, merge the batch's part into what is stored
  local indexExpiry = {}
  -- sorted-set entries go in one ZADD per set (a window's are new only once, but many per batch)
  local zadds, zaddOrder = {}, {}
  local function queueZadd(key, score, member)
    local list = zadds[key]
    if not list then list = {}; zadds[key] = list; zaddOrder[#zaddOrder + 1] = key end
    list[#list + 1] = score; list[#list + 1] = member
  end
  for _, w in ipairs(plan.win) do
    local key, indexKey, meta, p = keys[w[1]], keys[w[2]], w[3], w[4]
    local closeAt, ending = meta[7], meta[6]
    local cache = stored[key]
    local writes = {}
    local isNew = not cache.status
    if isNew then
      writes = { 'scope', meta[1], 'scopeId', meta[2], 'kind', meta[3], 'spec', meta[4], 'start', num(meta[5]), 'end', num(ending), 'closeAt', num(closeAt), 'status', 'open', 'acc', num(plan.acc) }
      if meta[9] ~= 0 then
        writes[#writes + 1] = 'sx'; writes[#writes + 1] = keys[meta[9]]
        writes[#writes + 1] = 'sid'; writes[#writes + 1] = meta[10]
        writes[#writes + 1] = 'gap'; writes[#writes + 1] = num(meta[11])
      end
    elseif meta[9] ~= 0 then
      -- a session's bounds move as it grows or absorbs others
      writes = { 'start', num(meta[5]), 'end', num(ending), 'closeAt', num(closeAt) }
    end
    if isNew or meta[9] ~= 0 then
      queueZadd(keys[K.open], closeAt, key)
      if meta[8] == 1 then queueZadd(keys[K.scopeOpen], closeAt, key) end
      queueZadd(indexKey, ending, key)
      redis.call('PEXPIRE', key, math.max(closeAt - now, 0) + retention)
      indexExpiry[indexKey] = math.max(indexExpiry[indexKey] or 0, math.max(closeAt - now, 0) + retention)
    end
    for _, metric in ipairs(plan.parts[p]) do
      local field = 's:' .. metric[1]
      local current = cache[field]
      writes[#writes + 1] = field
      writes[#writes + 1] = packStats(current and mergeStats(unpackStats(current), metric[2]) or metric[2])
      local buckets = metric[3]
      for j = 1, #buckets, 2 do
        local bucketField = 'b:' .. metric[1] .. ':' .. buckets[j]
        writes[#writes + 1] = bucketField
        writes[#writes + 1] = tostring(tonumber(cache[bucketField] or '0') + buckets[j + 1])
      end
    end
    hsetMany(key, writes)
  end
  for _, key in ipairs(zaddOrder) do callMany('ZADD', key, nil, zadds[key]) end
  -- each device's or site's index once: forget windows past retention, keep it alive
  for indexKey, expiry in pairs(indexExpiry) do
    redis.call('ZREMRANGEBYSCORE', indexKey, '-inf', '(' .. num(now - retention))
    redis.call('PEXPIRE', indexKey, expiry)
  end

  -- 5. emit-on-update: the latest value of each metric per device
  local devices = {}
  for _, l in ipairs(plan.latest) do
    local key = keys[l[1]]
    local metrics = l[7]
    local wanted = { 'time', 'seq' }
    for _, m in ipairs(metrics) do wanted[#wanted + 1] = 'm:' .. m[1] end
    local stored = callMany('HMGET', key, nil, wanted)
    local writes = {}
    local storedTime, storedSeq = tonumber(stored[1] or '-1e300'), tonumber(stored[2] or '-1')
    if compareAt(l[5], l[6], 0, storedTime, storedSeq, 0) > 0 then
      writes = { 'time', num(l[5]), 'seq', num(l[6]), 'siteId', l[3], 'deviceType', l[4] }
    end
    for i, m in ipairs(metrics) do
      local current = stored[i + 2]
      local take = true
      if current then
        -- "value,time,seq"
        local time, seq = string.match(current, '^[^,]*,([^,]*),([^,]*)$')
        take = compareAt(m[3], m[4], 0, tonumber(time), tonumber(seq), 0) > 0
      end
      if take then writes[#writes + 1] = 'm:' .. m[1]; writes[#writes + 1] = num(m[2]) .. ',' .. num(m[3]) .. ',' .. num(m[4]) end
    end
    writes[#writes + 1] = 'updatedAt'; writes[#writes + 1] = num(now)
    hsetMany(key, writes)
    redis.call('PEXPIRE', key, retention)
    devices[#devices + 1] = l[5]; devices[#devices + 1] = l[2]
  end
  callMany('ZADD', keys[K.devices], 'GT', devices)
  local sites = {}
  for _, s in ipairs(plan.sites) do sites[#sites + 1] = s[2]; sites[#sites + 1] = s[1] end
  callMany('ZADD', keys[K.sites], 'GT', sites)

  -- 6. late and dead-letter records: produced from the outbox after this script (and by the timer)
  for _, o in ipairs(plan.out) do
    redis.call('ZADD', keys[o[1]], now, o[2])
    redis.call('HSET', keys[K.payloads], o[2], o[3])
  end

  -- 7. counters and the watermark; then close the device windows the watermark passed
  for name, n in pairs(plan.cnt) do
    if n ~= 0 then
      redis.call('HINCRBY', keys[K.scope], name, n)
      redis.call('HINCRBY', keys[K.counters], name, n)
    end
  end
  local closed = 0
  if plan.wm ~= cjson.null and plan.wm ~= nil then
    redis.call('HSET', keys[K.scope], 'watermark', num(plan.wm))
    local due = redis.call('ZRANGEBYSCORE', keys[K.scopeOpen], '-inf', plan.wm)
    for _, key in ipairs(due) do
      closed = closed + closeWindow(key, now, retention, keys[K.open], keys[K.outbox])
      redis.call('ZREM', keys[K.scopeOpen], key)
    end
  end
  if closed > 0 then redis.call('HINCRBY', keys[K.counters], 'closed', closed) end
  redis.call('PEXPIRE', keys[K.scopeOpen], retention)
  redis.call('PUBLISH', plan.channel, args[2])
  return true, cjson.encode({ closed = closed })
end
