-- GET at a fixed rate (inventory read of a random SKU, or the trivial endpoint when BENCH_PATH is set).
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local paced = require("paced")
local data = dofile(os.getenv("BENCH_DATA"))
local fixed = os.getenv("BENCH_PATH")

function init(args)
  paced.init(tonumber(os.getenv("BENCH_RATE")))
  math.randomseed(os.time())
end

function delay()
  return paced.delay()
end

function request()
  local path = (fixed and fixed ~= "") and fixed or ("/api/v1/inventory/" .. data.skus[math.random(#data.skus)])
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  paced.report(summary, latency)
end
