-- get_light.lua: seed §2.2.2 in Lua. Reads LightSwitch of LightDev1 and says whether the light
-- is on; the result is the property table as JSON, e.g. {"LightSwitch":0}.
local lecoresdk = require("lecoresdk")
local cjson = require("cjson")
local iot = lecoresdk.IoTData()

function handler(event, context)
  local data, err = iot:getThingProperties({productKey = "a1DemoLight", deviceName = "LightDev1",
                                            payload = {"LightSwitch"}})
  if not data then error(err) end
  if data.LightSwitch == nil then
    lecoresdk.logger.warn("-- [Warn] No property LightSwitch return.")
  elseif data.LightSwitch == 0 then
    lecoresdk.logger.info("-- Light is off.")
  else
    lecoresdk.logger.info("-- Light is on.")
  end
  return cjson.encode(data)
end
