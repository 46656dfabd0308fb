-- Shared by the benchmark scripts: hold each wrk thread to a fixed request rate.
-- wrk 4 (Debian) has no -R option (that is wrk2), so every thread keeps its own schedule of
-- send times and delay() waits for the next slot. When the server falls behind, slots are
-- already due and requests go out back to back: the achieved rate then drops below the target
-- and is reported as such. Latency is measured from send, NOT corrected for coordinated omission.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } nc_timespec;
  int clock_gettime(int clk_id, nc_timespec *tp);
]]
local ts = ffi.new("nc_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local paced = {}
local interval, next_slot

function paced.init(rate_per_thread)
  interval = 1000 / rate_per_thread
  next_slot = now_ms()
end

function paced.delay()
  local now = now_ms()
  next_slot = next_slot + interval
  -- never bank more than one second of missed slots (no thundering catch-up)
  if next_slot < now - 1000 then next_slot = now - 1000 end
  local wait = next_slot - now
  if wait < 0 then return 0 end
  return math.floor(wait)
end

function paced.report(summary, latency)
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end

return paced
