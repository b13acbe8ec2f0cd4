-- clhooks: count one attempt in a webhook's failure streak, in one atomic step (the rule of
-- clhooks::health::Tally::count, which the shared vectors check against this script).
-- KEYS[1] the webhook's hash; KEYS[2] the set of every webhook counted.
-- ARGV[1] the webhook's key; ARGV[2] why it failed ('' for a success); ARGV[3] the status;
-- ARGV[4] when it was answered, ARGV[5] when its request arrived (ms since the epoch);
-- ARGV[6] the notice threshold; ARGV[7] the breaker threshold.
-- The hash: s the streak, fr/fs/fa the last failure's reason, status and time, ok the last
-- success's time, op when the streak opened the circuit.
-- Answers {signal, streak, now}: signal '' (nothing crossed), 'streak' or 'ended', with the
-- streak it is about, and the streak now.
redis.call('SADD', KEYS[2], ARGV[1])
local held = redis.call('HMGET', KEYS[1], 's', 'op')
local streak = tonumber(held[1] or '0') or 0
local opened = held[2]
local notice = tonumber(ARGV[6])
local breaker = tonumber(ARGV[7])
if ARGV[2] == '' then
  if opened then
    redis.call('HDEL', KEYS[1], 'op')
  end
  redis.call('HSET', KEYS[1], 's', '0', 'ok', ARGV[4])
  if notice > 0 and streak >= notice then
    return {'ended', streak, 0}
  end
  return {'', 0, 0}
end
-- A delivery sent after the circuit opened: someone reset it, and this streak is new.
if opened and tonumber(ARGV[5]) > tonumber(opened) then
  streak = 0
  opened = false
  redis.call('HDEL', KEYS[1], 'op')
end
streak = streak + 1
redis.call('HSET', KEYS[1], 's', tostring(streak), 'fr', ARGV[2], 'fs', ARGV[3], 'fa', ARGV[4])
if breaker > 0 and streak >= breaker and not opened then
  redis.call('HSET', KEYS[1], 'op', ARGV[4])
end
if streak == notice or streak == breaker then
  return {'streak', streak, streak}
end
return {'', streak, streak}
