-- call_turn.lua: seed §2.2.4 in Lua. Calls the service turn of LightDev1 with LightSwitch 0
-- and returns the service's output as JSON.
local lecoresdk = require("lecoresdk")
local cjson = require("cjson")
local iot = lecoresdk.IoTData()

function handler(event, context)
  local data, err = iot:callThingService({productKey = "a1DemoLight", deviceName = "LightDev1",
                                          service = "turn", payload = {LightSwitch = 0}})
  if not data then error(err) end
  lecoresdk.logger.info("-- Call service Success. Return " .. cjson.encode(data))
  return cjson.encode(data)
end
