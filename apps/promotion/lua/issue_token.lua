#!lua
-- A single-use purchase token, only while the sale is live, under the user's token bucket.
-- KEYS: 1 meta  2 token  3 user's token bucket
-- ARGV: 1 user id  2 ttl ms  3 bucket rate/s  4 bucket burst
-- Reply: {'ok', 0} | {'not_live', 0} | {'throttled', retry ms}
local now = redis_now_ms()
local meta = redis.call('HMGET', KEYS[1], 'start', 'end')
if not meta[1] or now < tonumber(meta[1]) or now >= tonumber(meta[2]) then
    return {'not_live', 0}
end
local bucket = token_bucket(KEYS[3], tonumber(ARGV[3]), tonumber(ARGV[4]), 1, now)
if bucket[1] == 0 then
    return {'throttled', bucket[2]}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {'ok', 0}
