-- clhooks: end a claim and count the attempt its answer is, in one atomic step: the end script
-- (`finish`), then the count script (`count`), each as it is on its own.
-- KEYS[1] the claim's key; KEYS[2] the webhook's hash; KEYS[3] the set of every webhook counted.
-- ARGV[1..3] the end script's arguments; ARGV[4..10] the count script's.
-- Answers {ended, signal, streak, now}: the end's reply, then the count's.
local ended = finish({KEYS[1]}, {ARGV[1], ARGV[2], ARGV[3]})
local counted = count({KEYS[2], KEYS[3]}, {ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]})
return {ended, counted[1], counted[2], counted[3]}
