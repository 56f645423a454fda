-- wrk script for bench/surveillance_http.py: POST HTML forms, each line of the input file being
-- "<path>\t<url-encoded body>", with the CSRF cookie the bodies' token matches. With THREADS
-- given (the -t value), thread k sends lines k, k+T, k+2T, ... so no line is sent twice until
-- all have been sent once.
--
--   wrk -t2 -c16 -d15s --latency -s bench/post_forms.lua http://127.0.0.1:PORT -- FILE THREADS
--
-- The first line of FILE is "csrftoken\t<secret>". done() prints the same machine-readable
-- BENCH_* lines as post_rotate.lua (status counts, first body of each non-2xx status,
-- latency percentiles, totals, whether any line was sent twice).

local write_report = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_report.lua")

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

local paths = {}
local bodies = {}
local index = 0
local stride = 1
local headers = {}
wrapped = 0
codes = {}
samples = {}

function init(args)
  local file = args[1]
  if not file then
    error("usage: wrk ... -s post_forms.lua URL -- FILE [THREADS]")
  end
  local secret = nil
  for line in io.lines(file) do
    local path, body = string.match(line, "^([^\t]+)\t(.*)$")
    if path == "csrftoken" then
      secret = body
    elseif path then
      paths[#paths + 1] = path
      bodies[#bodies + 1] = body
    end
  end
  if #paths == 0 or not secret then
    error("no csrftoken line or no requests in " .. file)
  end
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "csrftoken=" .. secret,
  }
  stride = tonumber(args[2]) or 1
  index = (thread_id or 1) - stride
end

function request()
  index = index + stride
  if index > #paths then
    index = (index - 1) % #paths + 1
    wrapped = 1
  end
  return wrk.format("POST", paths[index], headers, bodies[index])
end

function response(status, response_headers, body)
  local key = tostring(status)
  codes[key] = (codes[key] or 0) + 1
  if (status < 200 or status > 299) and samples[key] == nil then
    samples[key] = string.sub(body or "", 1, 400)
  end
end

function done(summary, latency, requests)
  write_report(threads, summary, latency)
end
