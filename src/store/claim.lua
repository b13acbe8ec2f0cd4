-- clhooks: claim a delivery's idempotency key, in one atomic step.
-- KEYS[1] the key; ARGV[1] the claimer's token; ARGV[2] the lease, in ms.
-- 'fresh': the key is the claimer's until it ends the claim or the lease runs out;
-- 'duplicate': it was handled, or queued for workers ('q', see clhooks::handoff);
-- 'in_flight': another claimer holds it.
local held = redis.call('GET', KEYS[1])
if not held then
  redis.call('SET', KEYS[1], 'f:' .. ARGV[1], 'PX', ARGV[2])
  return 'fresh'
end
if held == 'd' or held == 'q' then
  return 'duplicate'
end
return 'in_flight'
