-- publish.lua: seed §2.2.1 in Lua. Every event publishes "Hello World." on /hello/world.
local lecoresdk = require("lecoresdk")
local iot = lecoresdk.IoTData()

function handler(event, context)
  local ok, err = iot:publish({topic = "/hello/world", payload = "Hello World."})
  if not ok then error("publish failed: " .. err) end
  lecoresdk.logger.info("-- Publish HelloWorld success.")
  return "published"
end
