-- clhooks: a worker's heartbeat for a message it runs, in one atomic step: its idle time starts
-- again, so no other worker reclaims it; only while it is still this worker's (another may
-- have reclaimed it after missed heartbeats, and must keep it).
-- KEYS[1] the stream. ARGV[1] the group; ARGV[2] this worker; ARGV[3] the entry's id.
-- 1: still this worker's; 0: not any more.
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #pending == 0 then
  return 0
end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
