-- clhooks: what a worker takes before it reads new messages, in one atomic step: the retries
-- whose delay has passed go back on the stream, and up to a count of messages another worker
-- held without a heartbeat for the reclaim idle time become this worker's.
-- KEYS[1] the stream; KEYS[2] the delayed retries (a sorted set: due time -> packed fields).
-- ARGV[1] the group; ARGV[2] this worker; ARGV[3] the reclaim idle time, in ms; ARGV[4] at
-- most this many. The group is made (reading the stream from its start) if it is not there.
-- Answers { {id, times handed out, {field, value, ...}}, ... }.
redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for _, packed in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)) do
  redis.call('XADD', KEYS[1], '*', unpack(cmsgpack.unpack(packed)))
  redis.call('ZREM', KEYS[2], packed)
end
local taken = {}
-- Entries deleted from the stream while pending come back apart (Redis 7) and leave the
-- pending list: nothing to run.
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', ARGV[4])
for _, entry in ipairs(claimed[2]) do
  if entry and entry[2] then
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
    local times = pending[1] and pending[1][4] or 1
    taken[#taken + 1] = { entry[1], times, entry[2] }
  end
end
return taken
