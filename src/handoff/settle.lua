-- clhooks: settle a message a worker ran, in one atomic step, only while it is still this
-- worker's: 'done' records the delivery's key as handled; 'retry' puts the record back on the
-- delayed retries with its new attempt count; 'dead' adds it to the dead letters with why;
-- 'release' hands it back to the stream as it was. The entry is then acknowledged and deleted
-- (never trimmed while pending).
-- KEYS[1] the stream; KEYS[2] the delayed retries; KEYS[3] the dead letters; KEYS[4] the
-- delivery's seen key ('' for none). ARGV[1] the group; ARGV[2] this worker; ARGV[3] the entry's id;
-- ARGV[4] the outcome; ARGV[5] done: how long the key is kept (ms), retry: the delay (ms),
-- dead: why (a code); ARGV[6] the record's attempt count (retry, dead); ARGV[7] dead: the
-- error's message. 1: settled; 0: not this worker's any more.
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #pending == 0 then
  return 0
end
local outcome = ARGV[4]
if outcome == 'done' then
  if KEYS[4] ~= '' then
    redis.call('SET', KEYS[4], 'd', 'PX', ARGV[5])
  end
else
  local entry = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])[1]
  if entry then
    local fields = entry[2]
    if outcome ~= 'release' then
      for i = 1, #fields, 2 do
        if fields[i] == 'attempt' then
          fields[i + 1] = ARGV[6]
        end
      end
    end
    local time = redis.call('TIME')
    local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
    if outcome == 'retry' then
      redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), cmsgpack.pack(fields))
    elseif outcome == 'dead' then
      fields[#fields + 1] = 'reason'
      fields[#fields + 1] = ARGV[5]
      fields[#fields + 1] = 'error'
      fields[#fields + 1] = ARGV[7]
      fields[#fields + 1] = 'failed'
      fields[#fields + 1] = tostring(now)
      redis.call('XADD', KEYS[3], '*', unpack(fields))
    else
      redis.call('XADD', KEYS[1], '*', unpack(fields))
    end
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
return 1
