-- set_light.lua: seed §2.2.3 in Lua. Switches LightDev1 on; the event, when it is a JSON
-- object, gives the properties to set instead, e.g. {"LightSwitch":0,"brightness":40}.
local lecoresdk = require("lecoresdk")
local cjson = require("cjson")
local iot = lecoresdk.IoTData()

function handler(event, context)
  local props = {LightSwitch = 1}
  if event:sub(1, 1) == "{" then props = cjson.decode(event) end
  local data, err = iot:setThingProperties({productKey = "a1DemoLight", deviceName = "LightDev1",
                                            payload = props})
  if not data then error(err) end
  lecoresdk.logger.info("-- Set Property Success. Return " .. cjson.encode(data))
  return cjson.encode(data)
end
