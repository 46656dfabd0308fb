-- wrk script for scripts/bench/search: cycles through the paths in $BENCH_PATHS (one per line)
-- and paces each connection with delay(), so the offered load is about $BENCH_RATE requests/s.
-- (Debian's wrk 4 has no wrk2-style -R; pacing per connection is the closest it offers.)
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local interval = tonumber(os.getenv("BENCH_INTERVAL_MS"))
local counter = 0

function setup(thread)
  thread:set("start", math.random(#paths))
end

function init(args)
  counter = start or 0
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end

function delay()
  return interval
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.1f rate=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
