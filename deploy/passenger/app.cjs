// Passenger's Node.js loader (and so cPanel's "Setup Node.js App") require()s
// the startup file, and the server bundle is an ES module with top-level
// await, which require() refuses (ERR_REQUIRE_ASYNC_MODULE); import() takes it.
// Settings come from the environment (PassengerEnvVar / SetEnv, cPanel's
// environment variables) or from cloudcoin-serve.json beside this file.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const config = join(__dirname, 'cloudcoin-serve.json');
if (!process.env.CLOUDCOIN_SERVE_CONFIG && existsSync(config)) process.env.CLOUDCOIN_SERVE_CONFIG = config;
import(pathToFileURL(join(__dirname, 'cloudcoin-serve.mjs')).href);
