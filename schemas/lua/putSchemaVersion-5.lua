--[[
  Append a schema as the next version of a subject, giving it a global id (the id of the same
  fingerprint if the schema is already known, else INCR of the id counter). Atomic, and refused
  when the subject changed since the caller checked compatibility (optimistic concurrency).

  KEYS[1] next-id counter (string, INCR)
  KEYS[2] schemas by id (hash: id -> schema text)
  KEYS[3] ids by fingerprint (hash: sha256 -> id)
  KEYS[4] subjects (set of subject names)
  KEYS[5] this subject's versions (list of ids, oldest first)

  ARGV[1] subject
  ARGV[2] fingerprint
  ARGV[3] schema text
  ARGV[4] expected version count

  Returns {id, version}, or {-1, current version count} on conflict.
]]
local count = redis.call('LLEN', KEYS[5])
if count ~= tonumber(ARGV[4]) then
  return {-1, count}
end
local id = redis.call('HGET', KEYS[3], ARGV[2])
if not id then
  id = redis.call('INCR', KEYS[1])
  redis.call('HSET', KEYS[2], id, ARGV[3])
  redis.call('HSET', KEYS[3], ARGV[2], id)
end
redis.call('RPUSH', KEYS[5], id)
redis.call('SADD', KEYS[4], ARGV[1])
return {tonumber(id), count + 1}
