-- Redis's own clock in epoch ms: lease expiry never depends on the workers' clocks.
-- (TIME is allowed in scripts since Redis 5: scripts replicate their effects, not themselves.)
local function redisTimeMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
