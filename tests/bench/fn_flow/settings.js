/* settings.js: the Node-RED 4.1 settings of tests/bench/fn_flow.sh, the peer of verge's
 * function flow. Headless: no editor, no admin API, no HTTP nodes (httpAdminRoot and
 * httpNodeRoot false, so no HTTP server is started at all), credentials not encrypted (no key
 * to generate or prompt for), no telemetry, no diagnostics, no runtime-state endpoint, no
 * module installs. The flow file and user directory are given on the command line
 * (node-red --settings settings.js --userDir DIR FLOWS.json). Everything else is
 * Node-RED's default, function nodes included (each runs in its own vm context). */
module.exports = {
    flowFilePretty: false,
    credentialSecret: false,
    uiHost: "127.0.0.1",
    httpAdminRoot: false,
    httpNodeRoot: false,
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    logging: { console: { level: "info", metrics: false, audit: false } },
    exportGlobalContextKeys: false,
    externalModules: {
        autoInstall: false,
        palette: { allowInstall: false },
        modules: { allowInstall: false }
    },
    editorTheme: { projects: { enabled: false } },
    functionExternalModules: false,
    functionTimeout: 0,
    functionGlobalContext: {}
};
