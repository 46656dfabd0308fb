#!lua
-- The worker created a batch of orders: record each on its reservation and acknowledge its stream
-- entry, the whole batch in one call (mark_ordered.lua does one entry; a batch of 500 was 500 script
-- calls, a fifth of a drained batch's time). Atomic like it: no entry is acknowledged without its record.
-- KEYS: 1 reservations  2 stream
-- ARGV: 1 consumer group, then for each entry: reservation id, order id, stream entry id
local ids = {}
for i = 2, #ARGV, 3 do
    local rid, oid = ARGV[i], ARGV[i + 1]
    local rec = redis.call('HGET', KEYS[1], rid)
    if rec then
        local status, user, qty = string.match(rec, '^([^|]*)|([^|]*)|([^|]*)|')
        if status == 'pending' then
            redis.call('HSET', KEYS[1], rid, 'ordered|' .. user .. '|' .. qty .. '|' .. oid)
        end
    end
    ids[#ids + 1] = ARGV[i + 2]
end
local acked = 0
-- unpack() is bounded by Lua's C stack: acknowledge in slices.
for s = 1, #ids, 1000 do
    acked = acked + redis.call('XACK', KEYS[2], ARGV[1], unpack(ids, s, math.min(s + 999, #ids)))
end
return acked
