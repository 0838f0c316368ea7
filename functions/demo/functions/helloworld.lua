-- helloworld.lua: seed §2.2.6, the callee. Logs the event and the invoker's custom data and
-- answers the invoker.
local lecoresdk = require("lecoresdk")

function handler(event, context)
  lecoresdk.logger.info(event) -- String message from Invoker.
  local custom = context.invokerContext.custom
  lecoresdk.logger.info(custom and custom.data or "no custom data") -- Custom context from Invoker
  lecoresdk.logger.info("-- hello world")
  return "Message from helloworld (" .. (custom and custom.data or "no context") .. ")"
end
