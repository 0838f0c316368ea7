-- monitor.lua: the rule function the routes feed. A routed message arrives as the event
-- {"topic":"...","payload":"<JSON text>"}; a light report whose temperature passes the
-- THRESHOLD of the manifest's env is republished on /demo/alerts/<deviceName>. Invoked
-- directly with the event "stats", it answers what it has seen, as JSON.
local lecoresdk = require("lecoresdk")
local cjson = require("cjson")
local iot = lecoresdk.IoTData()

local threshold = tonumber(lecoresdk.env.THRESHOLD or "30")
local seen = {messages = 0, alerts = 0, topics = {}, sources = {}, timers = 0}

function handler(event, context)
  if event == "stats" then return cjson.encode(seen) end
  if context.source == "timer" then
    seen.timers = seen.timers + 1
    return nil
  end
  seen.messages = seen.messages + 1
  local m = cjson.decode(event)
  seen.topics[m.topic] = (seen.topics[m.topic] or 0) + 1
  seen.sources[context.source] = true
  local ok, report = pcall(cjson.decode, m.payload)
  if ok and type(report) == "table" and type(report.temperature) == "table" and
     type(report.temperature.value) == "number" and report.temperature.value > threshold then
    local dn = m.topic:match("^/sys/[^/]+/([^/]+)/") or "unknown"
    seen.alerts = seen.alerts + 1
    iot:publish({topic = "/demo/alerts/" .. dn,
                 payload = cjson.encode({deviceName = dn, temperature = report.temperature.value})})
  end
end
