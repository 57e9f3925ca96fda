-- wrk script for the sign POST.
--
--   wrk ... -s bench/lua/sign.lua http://host:port/en/c/<slug> -- <pairs file> <tag>
--
-- The pairs file holds one "<session cookie>\t<csrf token>" per line (fetched beforehand: a CSRF
-- token is only valid with its session). Each request takes the next pair and a unique email
-- address "<tag>-t<thread>-<n>@bench.example.org". Every response status is counted, so the
-- summary says exactly how many POSTs got their 303.

local here = debug.getinfo(1, "S").source:sub(2):match("^(.*/)") or "./"
dofile(here .. "report.lua") -- defines done() and bench_summary_json(); done() is redefined below

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

function init(args)
  pool = {}
  for line in io.lines(args[1]) do
    local cookie, token = line:match("^([^\t]+)\t([^\t]+)$")
    if cookie then
      pool[#pool + 1] = { cookie = cookie, token = token }
    end
  end
  if #pool == 0 then
    error("no (cookie, token) pairs in " .. args[1])
  end
  tag = args[2]
  counter = 0
  statuses = {}
end

function request()
  counter = counter + 1
  local pair = pool[(counter * 7 + tid) % #pool + 1]
  local body = "csrf_token=" .. pair.token ..
    "&name=Bench+Signer&email=" .. tag .. "-t" .. tid .. "-" .. counter ..
    "%40bench.example.org&country=DE&comment=&source=&website="
  return wrk.format("POST", nil, {
    ["Cookie"] = pair.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses") or {}
    for status, n in pairs(counts) do
      total[status] = (total[status] or 0) + n
    end
  end
  io.write(bench_summary_json(summary, latency, total))
end
