-- credentials.lua: seed §2.2.7 in Lua. Returns the accessKeyId of the gateway's configured
-- credentials (credentials.* in verge's configuration), or the reason there are none.
local lecoresdk = require("lecoresdk")

function handler(event, context)
  local cred, err = lecoresdk.CredentialProviderChain():get_credential()
  if not cred then return "no credentials: " .. err end
  return "Access Key Id: " .. cred.accessKeyId
end
