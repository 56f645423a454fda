-- Shared by the wrk scripts of bench/: the machine-readable lines their Python drivers parse.
--
--   BENCH_WRAPPED <0|1>             1 when some request line was sent more than once
--   BENCH_STATUS <code> <count>     one per HTTP status seen
--   BENCH_SAMPLE <code> <body>      the first body of each non-2xx status (truncated)
--   BENCH_LATENCY_US p50 p90 p99 max
--   BENCH_TOTAL requests duration_us connect read write status timeout
--
-- Each thread keeps the globals `codes`, `samples` and `wrapped`; load with
--   local write_report = dofile(<folder of the script> .. "wrk_report.lua")
-- and call write_report(threads, summary, latency) from done().

return function(threads, summary, latency)
  local total_codes = {}
  local all_samples = {}
  local any_wrapped = 0
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("codes") or {}) do
      total_codes[code] = (total_codes[code] or 0) + count
    end
    for code, body in pairs(thread:get("samples") or {}) do
      if all_samples[code] == nil then
        all_samples[code] = body
      end
    end
    any_wrapped = math.max(any_wrapped, thread:get("wrapped") or 0)
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
