-- wrk script for bench/status_and_submit.py: POST JSON bodies read from a file, one per line,
-- and count status codes. With THREADS given (the -t value), thread k sends bodies k, k+T,
-- k+2T, ... so no body is sent twice until all have been sent once.
--
--   wrk -t2 -c64 -d20s --latency -s bench/post_rotate.lua URL -- BODIES_FILE [THREADS]
--
-- done() prints machine-readable lines that the Python driver parses:
--   BENCH_STATUS <code> <count>     one per HTTP status seen
--   BENCH_SAMPLE <code> <body>      the first body of each non-2xx status (truncated)
--   BENCH_LATENCY_US p50 p90 p99 max
--   BENCH_TOTAL requests duration_us connect read write status timeout
--   BENCH_RECEIPT <number>          the receipt_number of every 201 answer (submissions)
--   BENCH_WRAPPED <0|1>             1 when some body was sent more than once

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

local bodies = {}
local index = 0
local stride = 1
wrapped = 0
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
codes = {}
samples = {}
receipts = {}

function init(args)
  local file = args[1]
  if not file then
    error("usage: wrk ... -s post_rotate.lua URL -- BODIES_FILE")
  end
  for line in io.lines(file) do
    if #line > 0 then
      bodies[#bodies + 1] = line
    end
  end
  if #bodies == 0 then
    error("no request bodies in " .. file)
  end
  stride = tonumber(args[2]) or 1
  index = (thread_id or 1) - stride
end

function request()
  index = index + stride
  if index > #bodies then
    index = (index - 1) % #bodies + 1
    wrapped = 1
  end
  return wrk.format("POST", nil, headers, bodies[index])
end

function response(status, response_headers, body)
  local key = tostring(status)
  codes[key] = (codes[key] or 0) + 1
  if (status < 200 or status > 299) and samples[key] == nil then
    samples[key] = string.sub(body or "", 1, 400)
  end
  if status == 201 then
    local receipt = string.match(body or "", '"receipt_number"%s*:%s*"(%d+)"')
    if receipt then
      receipts[#receipts + 1] = receipt
    end
  end
end

function done(summary, latency, requests)
  local total_codes = {}
  local all_samples = {}
  for _, thread in ipairs(threads) do
    local thread_codes = thread:get("codes") or {}
    for code, count in pairs(thread_codes) do
      total_codes[code] = (total_codes[code] or 0) + count
    end
    local thread_samples = thread:get("samples") or {}
    for code, body in pairs(thread_samples) do
      if all_samples[code] == nil then
        all_samples[code] = body
      end
    end
  end
  local any_wrapped = 0
  for _, thread in ipairs(threads) do
    any_wrapped = math.max(any_wrapped, thread:get("wrapped") or 0)
    for _, receipt in ipairs(thread:get("receipts") or {}) do
      io.write("BENCH_RECEIPT ", receipt, "\n")
    end
  end
  io.write(string.format("BENCH_WRAPPED %d\n", any_wrapped))
  for code, count in pairs(total_codes) do
    io.write(string.format("BENCH_STATUS %s %d\n", code, count))
  end
  for code, body in pairs(all_samples) do
    io.write(string.format("BENCH_SAMPLE %s %s\n", code, (string.gsub(body, "[\r\n]", " "))))
  end
  io.write(string.format("BENCH_LATENCY_US %d %d %d %d\n", latency:percentile(50.0),
    latency:percentile(90.0), latency:percentile(99.0), latency.max))
  local e = summary.errors
  io.write(string.format("BENCH_TOTAL %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout))
end
