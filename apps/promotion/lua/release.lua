#!lua
-- A cancelled order gives its unit and the user's quota back, exactly once per reservation.
-- KEYS: 1 stock  2 users  3 reservations  4 released set
-- ARGV: 1 reservation id  2 order id
-- Reply: units given back; 0 when already given back; -1 when the reservation is unknown here.
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then
    return 0
end
local rec = redis.call('HGET', KEYS[3], ARGV[1])
if not rec then
    return -1
end
local status, user, qty = string.match(rec, '^([^|]*)|([^|]*)|([^|]*)|')
qty = tonumber(qty)
redis.call('INCRBY', KEYS[1], qty)
redis.call('HINCRBY', KEYS[2], user, -qty)
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], 'cancelled|' .. user .. '|' .. qty .. '|' .. ARGV[2])
return qty
