-- get.lua: wrk reporter for the latency figures of `make bench`
-- (docs/performance.md): plain GETs (URL and headers from the command
-- line); prints one machine-readable line for bench/run.sh.
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK requests=%d duration_us=%d status_errors=%d socket_errors=%d " ..
      "p50_us=%d p99_us=%d\n",
      summary.requests, summary.duration, e.status,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
