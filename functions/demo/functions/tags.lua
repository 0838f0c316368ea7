-- tags.lua: seed §2.2.5 in Lua. Lists the devices tagged location = master bedroom as JSON
-- [{"productKey":..,"deviceName":..,"tags":[{"location":"master bedroom"}]}].
local lecoresdk = require("lecoresdk")
local cjson = require("cjson")
local iot = lecoresdk.IoTData()

function handler(event, context)
  local things, err = iot:getThingsWithTags({payload = {{location = "master bedroom"}}})
  if not things then error(err) end
  for _, t in ipairs(things) do
    lecoresdk.logger.info("-- productKey=" .. t.productKey .. ", deviceName=" .. t.deviceName)
  end
  return cjson.encode(things)
end
