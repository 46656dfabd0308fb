#!lua
-- One flash-sale purchase, all or nothing (DESIGN.md section 3, step 4).
-- KEYS: 1 meta  2 stock  3 users  4 token  5 stream  6 reservations  7 user's purchase bucket
-- ARGV: 1 user id  2 quantity  3 reservation id  4 bucket rate/s  5 bucket burst
-- Reply: {code, n}: {'ok', remaining} or {failure code, detail}
local now = redis_now_ms()
local meta = redis.call('HMGET', KEYS[1], 'start', 'end', 'limit')
if not meta[1] then
    return {'not_live', 0}
end
if now < tonumber(meta[1]) or now >= tonumber(meta[2]) then
    return {'not_live', 0}
end
local bucket = token_bucket(KEYS[7], tonumber(ARGV[4]), tonumber(ARGV[5]), 1, now)
if bucket[1] == 0 then
    return {'throttled', bucket[2]}
end
local owner = redis.call('GET', KEYS[4])
if not owner then
    return {'token_used', 0}
end
if owner ~= ARGV[1] then
    return {'token_foreign', 0}
end
local qty = tonumber(ARGV[2])
local bought = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if bought + qty > tonumber(meta[3]) then
    return {'limit_exceeded', bought}
end
local stock = tonumber(redis.call('GET', KEYS[2]) or '0')
if stock < qty then
    return {'sold_out', stock}
end
redis.call('DECRBY', KEYS[2], qty)
redis.call('HINCRBY', KEYS[3], ARGV[1], qty)
redis.call('DEL', KEYS[4])
redis.call('XADD', KEYS[5], '*', 'rid', ARGV[3], 'user', ARGV[1], 'qty', qty)
redis.call('HSET', KEYS[6], ARGV[3], 'pending|' .. ARGV[1] .. '|' .. qty .. '|')
return {'ok', stock - qty}
