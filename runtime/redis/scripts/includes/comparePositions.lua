-- Stream positions (Kafka offsets, Kinesis sequence numbers) are decimal strings without
-- leading zeros that exceed 2^53: compare them as big integers, by length then digit by digit.
-- Returns -1, 0 or 1. Twin of runtime/redis/positionOrder.ts.
local function comparePositions(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
