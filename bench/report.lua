-- Shared by the wrk scripts of scripts/bench: print one machine-readable
-- line with the run's figures (latencies in microseconds).
--   BENCH_JSON {"requests":..,"duration_us":..,"rps":..,"p50_us":..,...}
-- A script that keeps its threads in bench_threads, each with a "writes"
-- count, also gets "writes" (keys.lua).
function done(summary, latency, requests)
  local e = summary.errors
  local writes = -1
  if bench_threads then
    writes = 0
    for _, t in ipairs(bench_threads) do writes = writes + t:get("writes") end
  end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "rps": %.1f, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"bytes": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d, "non2xx": %d, "writes": %d}\n',
    summary.requests, summary.duration,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, summary.bytes, e.connect, e.read, e.write, e.timeout,
    e.status, writes))
end
