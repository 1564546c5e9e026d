-- wrk script of the bench: cycles through a file of pre-made requests.
--
-- Arguments (after `--`): lines file, mode ("post" or "get"), path for
-- "post", API key, start line, thread count, rate, stop after.
--   post: each line is a JSON body sent to the path.
--   get:  each line is a path to GET.
--   start line: where thread 1 starts; thread i starts a 1/threads share
--     of the file further, so threads never send the same lines together.
--   rate: requests per second of the whole run, 0 for as fast as possible.
--     Paced by wrk's delay(): each thread hands out send times spaced
--     threads/rate seconds apart, and a free connection waits for the
--     next one. wrk times a request from its send, so the latency is the
--     server's answer time at that offered rate.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

local lines, mode, path, headers
local index, interval_ms, next_send_ms

function init(args)
  lines = {}
  for line in io.lines(args[1]) do
    lines[#lines + 1] = line
  end
  mode, path = args[2], args[3]
  headers = { ["Authorization"] = "Bearer " .. args[4] }
  if mode == "post" then
    headers["Content-Type"] = "application/json"
  end
  local share = math.floor(#lines / tonumber(args[6]))
  index = (tonumber(args[5]) + id * share) % #lines
  local rate = tonumber(args[7])
  if rate > 0 then
    interval_ms = tonumber(args[6]) * 1000 / rate
    delay = paced_delay
  end
end

function paced_delay()
  local now = now_ms()
  local send = next_send_ms or now
  if send < now then
    send = now -- behind: no burst to catch up
  end
  next_send_ms = send + interval_ms
  return math.floor(send - now)
end

function request()
  index = index % #lines + 1
  if mode == "post" then
    return wrk.format("POST", path, headers, lines[index])
  end
  return wrk.format("GET", lines[index], headers)
end

-- One line of JSON for the bench to read (latencies in microseconds).
function done(summary, latency, _requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%d}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
