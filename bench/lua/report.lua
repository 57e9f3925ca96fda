-- wrk script for plain GETs: prints the run's summary as one JSON line (prefixed BENCH_JSON).
-- Loaded by bench/loadgen.py; the status histogram stays empty (wrk counts >= 400 itself).

-- A global, so that sign.lua can reuse it (a wrk script must not return a value).
function bench_summary_json(summary, latency, statuses)
  local parts = {}
  for status, n in pairs(statuses) do
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end
  local e = summary.errors
  return string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ",")
  )
end

function done(summary, latency, requests)
  io.write(bench_summary_json(summary, latency, {}))
end
