-- monitor.lua: the rule function of tests/bench/fn_flow.sh. Each routed property report of an
-- a1BenchSensor device arrives as event = {"topic":"/sys/<pk>/<dn>/thing/event/property/post",
-- "payload":"<the report's JSON>"}; a temperature above 30 publishes an alert on
-- /alerts/<dn>. The Node-RED peer's function node applies the same rule to the same data.
local cjson = require("cjson")
local lecoresdk = require("lecoresdk")
local iot = lecoresdk.IoTData()

local THRESHOLD = 30

function handler(event, context)
  local m = cjson.decode(event)
  local p = cjson.decode(m.payload)
  local t = p.temperature.value
  if t > THRESHOLD then
    local dn = string.match(m.topic, "^/sys/[^/]+/([^/]+)/")
    iot:publish({topic = "/alerts/" .. dn,
                 payload = cjson.encode({device = dn, temperature = t})})
  end
end
