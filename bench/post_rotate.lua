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

local write_report = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_report.lua")

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
  for _, thread in ipairs(threads) do
    for _, receipt in ipairs(thread:get("receipts") or {}) do
      io.write("BENCH_RECEIPT ", receipt, "\n")
    end
  end
  write_report(threads, summary, latency)
end
