-- clhooks: claim a delivery's idempotency key and queue its record, in one atomic step.
-- KEYS[1] the key (a seen-store key: absent, 'f:<token>' claimed, 'q' queued, 'd' handled);
-- KEYS[2] the queue's stream. ARGV[1] how long the key is kept, in ms; ARGV[2..] the record's
-- fields and values. 'fresh': queued now; 'duplicate': queued or handled before; 'in_flight':
-- a receiver that runs its handlers inline holds the key. The entry is written before the key,
-- so a write that fails (out of memory) leaves neither.
local held = redis.call('GET', KEYS[1])
if held == 'q' or held == 'd' then
  return 'duplicate'
end
if held then
  return 'in_flight'
end
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[1], 'q', 'PX', ARGV[1])
return 'fresh'
