#!lua
-- Load a campaign into Redis. Idempotent: a second run refreshes the window and the limit but
-- never resets the stock, the counters or the stream.
-- KEYS: 1 meta  2 stock  3 stream
-- ARGV: 1 start ms  2 end ms  3 per-user limit  4 price  5 currency  6 sku  7 quantity  8 consumer group
--       9 stock to load (the quantity, or what PostgreSQL says is left when Redis lost the campaign)
--       10 1 when this load is such a rebuild (recorded in the meta as 'rebuilt')
redis.call('HSET', KEYS[1], 'start', ARGV[1], 'end', ARGV[2], 'limit', ARGV[3],
    'price', ARGV[4], 'currency', ARGV[5], 'sku', ARGV[6])
if redis.call('HEXISTS', KEYS[1], 'initial') == 1 then
    return 0
end
redis.call('HSET', KEYS[1], 'initial', ARGV[7])
redis.call('SET', KEYS[2], ARGV[9] or ARGV[7])
if ARGV[10] == '1' then
    redis.call('HSET', KEYS[1], 'rebuilt', 1)
end
redis.pcall('XGROUP', 'CREATE', KEYS[3], ARGV[8], '0', 'MKSTREAM')
return 1
