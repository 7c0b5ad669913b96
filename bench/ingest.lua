-- ingest.lua: wrk request generator for the ingest figures of `make bench`
-- (docs/performance.md). Closed loop: each of wrk's connections sends the
-- next request as soon as the previous answer arrived.
--
--   wrk -t THREADS ... -s bench/ingest.lua URL -- MODE SOURCE BATCH RUN START_MS THREADS
--
-- MODE   wardd: POST /api/v1/readings, {"readings": [...]} (docs/api.md) with a
--               device's bearer token
--        fhir: POST /fhir/Observation, one FHIR R4 Observation per request
--               (docs/fhir.md), the same device token, the reading's id
--               as the Observation's identifier (BATCH must be 1)
--        floor: the same requests to bench/mhd_floor
--        influx: POST /write?db=bench&precision=ms, InfluxDB line protocol,
--               one point per reading: obs,device=dN,code=C value=V,msg="ID" T
-- SOURCE wardd/floor: a file with one device per line, "TOKEN ..." (from
--        loadgen setup); influx: the number of simulated devices
-- BATCH  readings per request (1 or 100 in the figures)
-- RUN    a tag unique to this wrk run: message ids are "r<RUN>-<seq>", unique
--        per device across runs, so no reading is a duplicate
-- START_MS  the first reading time (epoch ms)
-- THREADS wrk's -t (a thread cannot see how many there are)
--
-- Every wrk thread owns the devices with index % threads == its id, and
-- walks them round robin, so each device's readings come from one thread
-- in order. A device's readings are "samples" of six vitals (hr rr spo2
-- temp sbp dbp, normal values) sharing one time; each device's clock
-- advances 1 ms per sample from START_MS (far slower than real time, so
-- never in the future, and in order per device).

local created = 0

function setup(thread)
   thread:set("tid", created)
   created = created + 1
end

local codes = {"hr", "rr", "spo2", "temp", "sbp", "dbp"}
local loinc = {"8867-4", "9279-1", "59408-5", "8310-5", "8480-6", "8462-4"}
local units = {"/min", "/min", "%", "Cel", "mm[Hg]", "mm[Hg]"}
local base = {78, 16, 97, 36.9, 122, 74}
local swing = {12, 3, 2, 0.5, 8, 6}

local mode, batch, run, start_ms
local devices = {}   -- this thread's devices: {token=, name=, seq=}
local next_dev = 1

-- RFC 3339 with milliseconds; os.date only when the second changes
local iso_sec, iso_prefix = -1, ""
local function iso(ms)
   local s = math.floor(ms / 1000)
   if s ~= iso_sec then
      iso_sec = s
      iso_prefix = os.date("!%Y-%m-%dT%H:%M:%S", s)
   end
   return iso_prefix .. string.format(".%03dZ", ms % 1000)
end

function init(args)
   mode = args[1]
   local source = args[2]
   batch = tonumber(args[3])
   run = args[4]
   start_ms = tonumber(args[5])
   local nthreads = tonumber(args[6])
   local all = {}
   if mode == "influx" then
      for i = 1, tonumber(source) do
         table.insert(all, {name = "d" .. i})
      end
   else
      for line in io.lines(source) do
         local tok = line:match("^(%S+)")
         if tok then
            table.insert(all, {token = tok, name = tok})
         end
      end
   end
   for i, d in ipairs(all) do
      if (i - 1) % nthreads == tid then
         d.seq = 0
         table.insert(devices, d)
      end
   end
   if #devices == 0 then
      error("ingest.lua: thread " .. tid .. " has no device")
   end
end

local function value(code, seq)
   local phase = (seq % 17) / 16 - 0.5
   return base[code] + swing[code] * phase
end

local function wardd_body(d)
   local parts = {}
   for i = 1, batch do
      local s = d.seq
      local code = s % 6 + 1
      local t = start_ms + math.floor(s / 6)
      parts[i] = string.format(
         '{"id":"r%s-%d","code":"%s","value":%.1f,"unit":"%s","time":"%s"}',
         run, s, codes[code], value(code, s), units[code], iso(t))
      d.seq = s + 1
   end
   return '{"readings":[' .. table.concat(parts, ",") .. ']}'
end

local function influx_body(d)
   local parts = {}
   for i = 1, batch do
      local s = d.seq
      local code = s % 6 + 1
      local t = start_ms + math.floor(s / 6)
      parts[i] = string.format('obs,device=%s,code=%s value=%.1f,msg="r%s-%d" %d',
         d.name, codes[code], value(code, s), run, s, t)
      d.seq = s + 1
   end
   return table.concat(parts, "\n")
end

local function fhir_body(d)
   local s = d.seq
   local code = s % 6 + 1
   local t = start_ms + math.floor(s / 6)
   d.seq = s + 1
   return string.format(
      '{"resourceType":"Observation","status":"final",' ..
      '"identifier":[{"system":"urn:bench","value":"r%s-%d"}],' ..
      '"code":{"coding":[{"system":"http://loinc.org","code":"%s"}]},' ..
      '"effectiveDateTime":"%s","valueQuantity":{"value":%.1f,' ..
      '"system":"http://unitsofmeasure.org","code":"%s"}}',
      run, s, loinc[code], iso(t), value(code, s), units[code])
end

function request()
   local d = devices[next_dev]
   next_dev = next_dev % #devices + 1
   if mode == "fhir" then
      return wrk.format("POST", "/fhir/Observation",
         {["Content-Type"] = "application/fhir+json",
          ["Authorization"] = "Bearer " .. d.token}, fhir_body(d))
   end
   if mode == "influx" then
      return wrk.format("POST", "/write?db=bench&precision=ms",
         {["Content-Type"] = "text/plain"}, influx_body(d))
   end
   return wrk.format("POST", "/api/v1/readings",
      {["Content-Type"] = "application/json",
       ["Authorization"] = "Bearer " .. d.token}, wardd_body(d))
end

-- One machine-readable line for bench/run.sh.
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK requests=%d duration_us=%d status_errors=%d socket_errors=%d " ..
      "p50_us=%d p99_us=%d\n",
      summary.requests, summary.duration, e.status,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
