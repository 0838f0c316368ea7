-- invoker.lua: seed §2.2.6, the caller. Invokes EdgeFC/helloworld Sync with an invokerContext
-- and returns what helloworld answered. The event "base64" sends the context the way the
-- original SDKs do, base64(JSON); otherwise it goes as a table.
local lecoresdk = require("lecoresdk")
local fc = lecoresdk.Client()

-- base64 of {"custom":{"data":"Custom context from Invoker"}}
local CONTEXT_B64 = "eyJjdXN0b20iOnsiZGF0YSI6IkN1c3RvbSBjb250ZXh0IGZyb20gSW52b2tlciJ9fQ=="

function handler(event, context)
  local ctx = {custom = {data = "Custom context from Invoker"}}
  if event == "base64" then ctx = CONTEXT_B64 end
  local res, err = fc:invokeFunction({serviceName = "EdgeFC", functionName = "helloworld",
                                      invocationType = "Sync", invokerContext = ctx,
                                      payload = "String message from Invoker."})
  if not res then error(err) end
  lecoresdk.logger.info(res.payload) -- Message from helloworld
  return res.payload
end
