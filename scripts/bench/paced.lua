-- wrk script shared by scripts/bench/browse and scripts/bench/search: cycles through the paths in
-- $BENCH_PATHS (one per line, each thread from its own random offset) and paces every connection
-- with delay(): $BENCH_INTERVAL_MS between its requests, so the offered load is about
-- connections * 1000 / interval requests/s. (Debian's wrk 4 has no wrk2-style -R; pacing per
-- connection is the closest it offers, and the latency is not corrected for coordinated omission.)
-- Counts `X-Cache: hit` answers for the cache hit ratio. Prints one line:
--   RESULT requests=.. seconds=.. rate=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. errors=.. non2xx=.. hit_pct=..
-- (scripts/bench/report.d/bench_scenarios.py and both benchmarks read it by field name.)
-- checkout.d/paced.lua is another thing: a per-thread send schedule for the checkout ladder.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local interval = tonumber(os.getenv("BENCH_INTERVAL_MS"))
local threads = {}
-- wrk's Lua is not seeded: without this every run would start at the same offsets and the measured
-- run would replay exactly what its warm-up asked (hits that are not a mix's own).
math.randomseed(os.time())
-- Globals, not locals: done() reads each thread's copies with thread:get().
counter, hits, answers = 0, 0, 0

function setup(thread)
  thread:set("start", math.random(#paths))
  table.insert(threads, thread)
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

function response(status, headers, body)
  answers = answers + 1
  -- Django keeps the header's case, the hot path sends it lower-cased.
  if (headers["X-Cache"] or headers["x-cache"]) == "hit" then hits = hits + 1 end
end

function done(summary, latency, requests)
  local h, a = 0, 0
  for _, t in ipairs(threads) do
    h = h + (t:get("hits") or 0)
    a = a + (t:get("answers") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.1f rate=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d hit_pct=%.1f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout, e.status, a > 0 and 100.0 * h / a or 0))
end
