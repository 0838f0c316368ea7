---@meta lecoresdk
-- lecoresdk.lua: type annotations (LuaLS / EmmyLua) of the function SDK verge provides to Lua
-- functions through require("lecoresdk"). This file is for editors only: the runtime implements
-- the module in C (runtime/fnhost/lecoresdk.c). Failures return nil, message[, code].

---@class lecoresdk
local lecoresdk = {}

---@class lecoresdk.PublishParams
---@field topic string           an MQTT topic (no '+' or '#'), e.g. "/hello/world"
---@field payload string|table   bytes as they are; a table is sent as compact JSON

---@class lecoresdk.DeviceParams
---@field productKey string
---@field deviceName string

---@class lecoresdk.GetPropertiesParams: lecoresdk.DeviceParams
---@field payload string[]|nil   property identifiers; nil or {} for every readable one

---@class lecoresdk.SetPropertiesParams: lecoresdk.DeviceParams
---@field payload table<string, any>   {identifier = value}, checked against the thing model

---@class lecoresdk.CallServiceParams: lecoresdk.DeviceParams
---@field service string
---@field payload table<string, any>|nil   the service's input arguments

---@class lecoresdk.TagsParams
---@field payload table<string, string>[]   e.g. {{location = "master bedroom"}}: every tag must match

---@class lecoresdk.Thing
---@field productKey string
---@field deviceName string
---@field tags table<string, string>[]   one {key = value} table per tag

---@class lecoresdk.IoTData
local IoTData = {}

--- Publishes a message on the runtime's bus, from source "function:<service>/<name>".
---@param params lecoresdk.PublishParams
---@return true|nil ok
---@return string? err
function IoTData:publish(params) end

--- Reads device properties. Waits (the invocation yields) until the driver answers.
---@param params lecoresdk.GetPropertiesParams
---@return table<string, any>|nil props  {identifier = value}
---@return string? err
---@return integer? code  the SDK's error code (109001 device offline...)
function IoTData:getThingProperties(params) end

--- Writes device properties. Waits until the driver answers.
---@param params lecoresdk.SetPropertiesParams
---@return table|nil result  {} on success
---@return string? err
---@return integer? code
function IoTData:setThingProperties(params) end

--- Calls a device service. Waits until the driver answers.
---@param params lecoresdk.CallServiceParams
---@return table|nil reply  the driver's {code, message, data}
---@return string? err
---@return integer? code
function IoTData:callThingService(params) end

--- Lists the devices carrying every given tag. Does not wait.
---@param params lecoresdk.TagsParams
---@return lecoresdk.Thing[]|nil things
---@return string? err
function IoTData:getThingsWithTags(params) end

---@class lecoresdk.InvokeParams
---@field serviceName string?
---@field functionName string?
---@field functionId string?        "service/name", instead of serviceName + functionName
---@field invocationType "Sync"|"Async"|nil   default "Sync"
---@field invokerContext table|string|nil  a table, or its JSON text; reaches context.invokerContext
---@field payload string?           the callee's event

---@class lecoresdk.InvokeResult
---@field statusCode integer        200 when the function ran
---@field functionError "Handled"|"Unhandled"|nil
---@field payload string            the callee's result, or its error message

---@class lecoresdk.Client
local Client = {}

--- Invokes another function. Sync waits for its result; Async returns its invocation id.
---@param params lecoresdk.InvokeParams
---@return lecoresdk.InvokeResult|string|nil result
---@return string? err
function Client:invokeFunction(params) end

---@class lecoresdk.CredentialProviderChain
local CredentialProviderChain = {}

--- The credentials configured on the gateway (credentials.access_key_id, .access_key_secret,
--- .security_token), or nil and why when none are.
---@return table|nil credential {accessKeyId, accessKeySecret, securityToken}
---@return string? err
function CredentialProviderChain:get_credential() end

---@return lecoresdk.IoTData
function lecoresdk.IoTData() end

---@return lecoresdk.Client
function lecoresdk.Client() end

---@return lecoresdk.CredentialProviderChain
function lecoresdk.CredentialProviderChain() end

--- Suspends the invocation for `ms` milliseconds (other invocations run meanwhile). In a
--- handler the sleep ends at the invocation's deadline at the latest, which ends the invocation.
---@param ms integer
function lecoresdk.sleep(ms) end

---@class lecoresdk.Logger
---@field debug fun(...: any)
---@field info fun(...: any)
---@field warn fun(...: any)
---@field error fun(...: any)

--- The function's `env` object of the manifest, read-only.
---@type table<string, string>
lecoresdk.env = {}

--- Writes one line to the runtime's log under the function's name.
---@type lecoresdk.Logger
lecoresdk.logger = {}

return lecoresdk
