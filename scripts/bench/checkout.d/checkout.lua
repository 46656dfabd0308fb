-- POST /api/v1/orders (or the naive baseline) at a fixed rate: a random shopper, a random SKU and
-- a unique Idempotency-Key per request. Env: BENCH_DATA (lua data file), BENCH_RATE (per thread).
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local paced = require("paced")
local data = dofile(os.getenv("BENCH_DATA"))
local counter = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  paced.init(tonumber(os.getenv("BENCH_RATE")))
  math.randomseed(os.time() * 1000 + (tid or 0))
end

function delay()
  return paced.delay()
end

function request()
  counter = counter + 1
  local shopper = data.shoppers[math.random(#data.shoppers)]
  local sku = data.skus[math.random(#data.skus)]
  local body = string.format('{"items":[{"sku":"%s","quantity":1}],"shipping_address_id":%d}', sku, shopper[2])
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. shopper[1],
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d-%d", os.getenv("BENCH_RUN"), tid, counter, math.random(1e9)),
  }
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  paced.report(summary, latency)
end
