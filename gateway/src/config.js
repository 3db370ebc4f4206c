'use strict';
// Settings from the environment (twelve-factor style): the gateway is a
// process next to PostgreSQL, configured the way its deployment configures
// everything else.  The connection itself comes from libpq's usual PG*
// variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD), which
// node-postgres reads.
const fs = require('node:fs');

function int(name, def) {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

function load(overrides = {}) {
  const cfg = {
    host: process.env.FR_GATEWAY_HOST || '127.0.0.1',
    port: int('FR_GATEWAY_PORT', 8080),
    jwtSecret: process.env.FR_JWT_SECRET || '',
    poolSize: int('FR_GATEWAY_POOL', 10),
    trainPoolSize: int('FR_GATEWAY_TRAIN_POOL', 2),
    statementTimeoutMs: int('FR_GATEWAY_STATEMENT_TIMEOUT_MS', 10000),
    trainTimeoutMs: int('FR_GATEWAY_TRAIN_TIMEOUT_MS', 0),
    rateMax: int('FR_GATEWAY_RATE_MAX', 600),          // requests per window per subject (0: off)
    rateWindowMs: int('FR_GATEWAY_RATE_WINDOW_MS', 60000),
    logLevel: process.env.FR_GATEWAY_LOG_LEVEL || 'info',
    trustProxy: process.env.FR_GATEWAY_TRUST_PROXY || false,
    // anonymous requests (/health) run as this role, like PostgREST's anon role
    anonRole: process.env.FR_GATEWAY_ANON_ROLE || 'fashionrec_reader',
    // transaction (BEGIN; SET LOCAL ROLE; call; COMMIT) or session (SET ROLE
    // kept per connection, one round trip per request); see db.js
    roleMode: process.env.FR_GATEWAY_ROLE_MODE || 'transaction',
    // operator-written drift windows (SQL lives here, never in a request)
    driftWindows: {},
    ...overrides,
  };
  const file = overrides.configFile ?? process.env.FR_GATEWAY_CONFIG;
  if (file) {
    const extra = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (extra.driftWindows) cfg.driftWindows = extra.driftWindows;
  }
  if (cfg.trustProxy === 'true') cfg.trustProxy = true;
  if (!['transaction', 'session'].includes(cfg.roleMode)) {
    throw new Error('FR_GATEWAY_ROLE_MODE must be transaction or session');
  }
  if (cfg.jwtSecret.length < 32) {
    throw new Error('FR_JWT_SECRET must be set to a secret of at least 32 characters');
  }
  return cfg;
}

// The roles a token may name: the extension's own.  SET LOCAL ROLE only ever
// receives one of these strings.
const ROLES = ['fashionrec_app', 'fashionrec_reader', 'fashionrec_trainer'];

module.exports = { load, ROLES };
