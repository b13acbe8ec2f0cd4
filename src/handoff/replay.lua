-- clhooks: move dead letters back to the queue, in one atomic step: each as a new message with
-- its attempts counted afresh (a message in the queue always runs), without the fields the
-- dead letters added (why, the error, when).
-- KEYS[1] the stream; KEYS[2] the dead letters. ARGV the dead letters' ids. Answers how many
-- were moved (an id not there is skipped).
local moved = 0
for _, id in ipairs(ARGV) do
  -- An id that is not one (malformed) is skipped like one that is not there.
  local found = redis.pcall('XRANGE', KEYS[2], id, id)
  local entry = type(found) == 'table' and found[1]
  if entry then
    local fields = {}
    local from = entry[2]
    for i = 1, #from, 2 do
      local name = from[i]
      if name ~= 'reason' and name ~= 'error' and name ~= 'failed' then
        fields[#fields + 1] = name
        fields[#fields + 1] = (name == 'attempt') and '0' or from[i + 1]
      end
    end
    redis.call('XADD', KEYS[1], '*', unpack(fields))
    redis.call('XDEL', KEYS[2], id)
    moved = moved + 1
  end
end
return moved
