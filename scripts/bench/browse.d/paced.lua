-- wrk script for scripts/bench/browse: cycles through $BENCH_PATHS (one path per line, each thread
-- from its own offset), paces every connection with delay() ($BENCH_INTERVAL_MS between its
-- requests: Debian's wrk 4 has no wrk2 -R), and counts X-Cache: hit answers for the hit ratio.
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
    "RESULT requests=%d seconds=%.1f rate=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d hit_pct=%.1f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status, a > 0 and 100.0 * h / a or 0))
end
