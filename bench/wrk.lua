-- wrk script of bench/web.py and bench/load.py: the requests come from a spec file the bench
-- writes, and the figures go back to it on stdout as tab-separated lines it parses.
--
--   wrk -t T -c C -d 10s -s bench/wrk.lua http://127.0.0.1:PORT -- SPEC_FILE [paired]
--
-- SPEC_FILE holds one request kind a line, tab-separated:
--   weight  kind  method  path  body  header...
-- (body "-" for none). Each request draws a kind by weight. A body may hold placeholders,
-- redrawn for every request: {cents:LOW:HIGH} a random amount of LOW..HIGH hundredths as a
-- decimal ("12.34"), {int:LOW:HIGH} a random integer, {day:YYYY-MM-DD:SPAN} that day plus 0..SPAN
-- days; the same placeholder twice in a body takes the same value (a debit and its credit).
--
-- Only a 2xx response counts as a success. With one connection per thread (-t equal to -c, and
-- "paired" given), each response answers the thread's last request, so the script knows its kind
-- and times it
-- (from the request's creation to its response, with the monotonic clock): done() prints per
-- kind the successes, the errors (status, or "socket" for a request that never got an answer)
-- and the latencies of the successes in microseconds. With several connections per thread it
-- can only count: then the spec must hold one kind, and its latencies are wrk's own (done()
-- prints wrk's percentiles either way).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } comptoir_timespec;
  int clock_gettime(int clock_id, comptoir_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("comptoir_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

local function split(line, separator)
  local fields, start = {}, 1
  while true do
    local at = string.find(line, separator, start, true)
    if not at then
      table.insert(fields, string.sub(line, start))
      return fields
    end
    table.insert(fields, string.sub(line, start, at - 1))
    start = at + #separator
  end
end

local function read_spec(path)
  local kinds, total = {}, 0
  for line in io.lines(path) do
    if line ~= "" then
      local f = split(line, "\t")
      local headers = {}
      for i = 6, #f do
        local name, value = string.match(f[i], "^([^:]+):%s*(.*)$")
        headers[name] = value
      end
      total = total + tonumber(f[1])
      table.insert(kinds, {weight = tonumber(f[1]), upto = total, name = f[2], method = f[3], path = f[4],
                           body = f[5] ~= "-" and f[5] or nil, headers = headers})
    end
  end
  return kinds, total
end

-- --- the main thread: one setup() per thread, then done() ---------------------------------------

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

-- --- each thread ---------------------------------------------------------------------------------

-- Globals, read by done() through thread:get(), which copies flat tables only (a nested one
-- makes wrk panic): the latencies are two parallel arrays; in_flight names the kind of the
-- request left unanswered when wrk stopped (the server may still have done it).
local kinds, total, paired, pending, started
local made, answered = 0, 0
ok, errors, statuses, sample_kinds, sample_us, in_flight = {}, {}, {}, {}, {}, nil

function init(args)
  kinds, total = read_spec(args[1])
  paired = args[2] == "paired"
  math.randomseed(1000 + number)
  for _, kind in ipairs(kinds) do
    ok[kind.name], errors[kind.name] = 0, 0
  end
end

local draw = {
  cents = function(low, high)
    local cents = math.random(tonumber(low), tonumber(high))
    return string.format("%d.%02d", math.floor(cents / 100), cents % 100)
  end,
  int = function(low, high)
    return tostring(math.random(tonumber(low), tonumber(high)))
  end,
  day = function(first, span)
    local y, m, d = string.match(first, "^(%d+)-(%d+)-(%d+)$")
    local noon = os.time({year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12})
    return os.date("%Y-%m-%d", noon + 86400 * math.random(0, tonumber(span)))
  end,
}

local function fill(body)
  local drawn = {}
  return (string.gsub(body, "{(%a+):([%d-]+):(%d+)}", function(name, first, second)
    local key = name .. ":" .. first .. ":" .. second
    if not drawn[key] then
      drawn[key] = draw[name](first, second)
    end
    return drawn[key]
  end))
end

local function failed(name, why)
  errors[name] = errors[name] + 1
  statuses[name .. " " .. why] = (statuses[name .. " " .. why] or 0) + 1
end

function request()
  -- wrk calls request() once before the run on the first thread, to check it
  -- (script_verify_request): that one was never sent. Any later unanswered one was.
  made = made + 1
  if pending and not (made == 2 and answered == 0) then
    failed(pending.name, "socket") -- the last request never got its answer
  end
  local draw, kind = math.random() * total, kinds[#kinds]
  for _, candidate in ipairs(kinds) do
    if draw < candidate.upto then
      kind = candidate
      break
    end
  end
  if paired then
    pending, started, in_flight = kind, now_us(), kind.name
  end
  return wrk.format(kind.method, kind.path, kind.headers, kind.body and fill(kind.body) or nil)
end

function response(status, headers, body)
  local kind = pending or kinds[1]
  answered = answered + 1
  if status >= 200 and status < 300 then
    ok[kind.name] = ok[kind.name] + 1
    if pending then
      table.insert(sample_kinds, kind.name)
      table.insert(sample_us, math.floor(now_us() - started + 0.5))
    end
  else
    failed(kind.name, tostring(status))
  end
  pending, in_flight = nil, nil
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK\tsummary\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", summary.requests, summary.duration,
                         e.connect, e.read, e.write, e.timeout, e.status))
  io.write(string.format("WRK\tlatency\t%d\t%d\t%d\t%d\n", latency:percentile(50), latency:percentile(95),
                         latency:percentile(99), latency.max))
  local latencies = {}
  for _, thread in ipairs(threads) do
    local thread_errors, names = thread:get("errors"), thread:get("sample_kinds")
    for name, count in pairs(thread:get("ok")) do
      io.write(string.format("WRK\tkind\t%s\t%d\t%d\n", name, count, thread_errors[name]))
      latencies[name] = latencies[name] or {}
    end
    for i, us in ipairs(thread:get("sample_us")) do
      table.insert(latencies[names[i]], us)
    end
    for what, count in pairs(thread:get("statuses")) do
      io.write(string.format("WRK\tstatus\t%s\t%d\n", what, count))
    end
    local cut = thread:get("in_flight")
    if cut then
      io.write(string.format("WRK\tin-flight\t%s\n", cut))
    end
  end
  for name, values in pairs(latencies) do
    io.write(string.format("WRK\tlatencies\t%s\t%s\n", name, table.concat(values, ",")))
  end
end
