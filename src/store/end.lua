-- clhooks: end a claim, in one atomic step.
-- KEYS[1] the key; ARGV[1] the claimer's token; ARGV[2] '1' handled, '0' released;
-- ARGV[3] how long a handled key is kept, in ms.
-- Handled: recorded whoever holds the key now (the work is done). Released: only while the
-- claim is still this claimer's (its lease may have run out and another taken the key).
local held = redis.call('GET', KEYS[1])
if ARGV[2] == '1' then
  if held ~= 'd' then
    redis.call('SET', KEYS[1], 'd', 'PX', ARGV[3])
  end
  return 1
end
if held == 'f:' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
