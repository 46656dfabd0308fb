#!lua
-- The sale is over: take what is left off sale, once. A second run answers the same figure.
-- KEYS: 1 meta  2 stock
-- Reply: units taken off sale; -1 when the campaign was never loaded.
local done = redis.call('HGET', KEYS[1], 'returned')
if done then
    return tonumber(done)
end
if redis.call('HEXISTS', KEYS[1], 'initial') == 0 then
    return -1
end
local left = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('SET', KEYS[2], 0)
redis.call('HSET', KEYS[1], 'returned', left)
return left
