#!lua
-- The worker created the order: record it on the reservation and acknowledge the stream entry together.
-- KEYS: 1 reservations  2 stream
-- ARGV: 1 reservation id  2 order id  3 consumer group  4 stream entry id
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if rec then
    local status, user, qty = string.match(rec, '^([^|]*)|([^|]*)|([^|]*)|')
    if status == 'pending' then
        redis.call('HSET', KEYS[1], ARGV[1], 'ordered|' .. user .. '|' .. qty .. '|' .. ARGV[2])
    end
end
return redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
