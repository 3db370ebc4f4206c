'use strict';
// The database side: one pool for requests, a small one for training jobs
// (a long training must not take a serving connection), and the one way a
// request touches PostgreSQL: a transaction that first switches to the
// token's role, so that the database's own GRANTs decide what it may do.
const pg = require('pg');
const { ROLES } = require('./config');

// bigint ids as JSON numbers when they fit (they always do for ids below
// 2^53); larger ones stay strings rather than silently losing digits
pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
});
pg.types.setTypeParser(1700, (v) => Number(v));   // numeric (e.g. models.seconds)
// timestamptz as ISO 8601 strings, what the OpenAPI document promises
const parseTimestamptz = pg.types.getTypeParser(1184);
pg.types.setTypeParser(1184, (v) => {
  const d = parseTimestamptz(v);
  return d instanceof Date && !Number.isNaN(d.getTime()) ? d.toISOString() : v;   // +/-infinity stay text
});

// Each role gets its fixed prologue; the role name comes from ROLES, never
// from a request, and is validated again here.
const prologue = (role, timeoutMs) => {
  if (!ROLES.includes(role)) throw new Error(`not a fashionrec role: ${role}`);
  return `BEGIN; SET LOCAL ROLE ${role}; SET LOCAL statement_timeout = ${Number(timeoutMs) | 0}`;
};

function createPools(cfg) {
  const common = { application_name: 'fashionrec-gateway' };
  const pool = new pg.Pool({ ...common, max: cfg.poolSize });
  const trainPool = new pg.Pool({ ...common, max: cfg.trainPoolSize, application_name: 'fashionrec-gateway-train' });
  // a broken idle connection must not crash the process
  pool.on('error', () => {});
  trainPool.on('error', () => {});
  return { pool, trainPool };
}

// Run fn(client) inside BEGIN; SET LOCAL ROLE role; ...; COMMIT.  The three
// round trips are the price of per-request roles without session state: a
// connection goes back to the pool as it came.
async function withRole(pool, role, timeoutMs, fn) {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(prologue(role, timeoutMs));
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // a failed statement leaves the transaction aborted: roll back so the
    // connection returns clean; if even that fails, drop the connection
    try { await client.query('ROLLBACK'); } catch { broken = true; }
    throw err;
  } finally {
    client.release(broken);
  }
}

// FR_GATEWAY_ROLE_MODE=session: one round trip instead of three.  The
// connection keeps a session-level role (SET ROLE), switched only when a
// request needs another one; the statement runs in its own implicit
// transaction.  What a request may do is still decided by the token's role
// -- the role is set before every statement that needs another -- but the
// connection does not come back to the pool as it came, so this mode is for
// direct connections, not a transaction-pooling PgBouncer (docs/http.md).
async function querySession(pool, role, timeoutMs, name, text, values) {
  const client = await pool.connect();
  let broken = false;
  try {
    if (client.frRole !== role) {
      if (!ROLES.includes(role)) throw new Error(`not a fashionrec role: ${role}`);
      client.frRole = undefined;            // unknown until the SET succeeds
      await client.query(`SET ROLE ${role}; SET statement_timeout = ${Number(timeoutMs) | 0}`);
      client.frRole = role;
    }
    return await client.query({ name, text, values });
  } catch (err) {
    // a database error ends the statement's own transaction; anything else
    // (a broken connection) drops the connection
    if (!err.code) broken = true;
    throw err;
  } finally {
    client.release(broken);
  }
}

// A statement as the gateway's login role itself (a job's pg_stat_activity
// row is only visible to the session user that owns it).
async function asLogin(pool, name, text, values) {
  const client = await pool.connect();
  try {
    if (client.frRole !== undefined) { await client.query('RESET ROLE'); client.frRole = undefined; }
    return await client.query({ name, text, values });
  } finally {
    client.release();
  }
}

// One parameterised statement as a role; statements are prepared per
// connection under their name (node-postgres caches them), so the hot path
// skips parse and plan.
function query(pool, role, timeoutMs, name, text, values, mode = 'transaction') {
  if (mode === 'session') return querySession(pool, role, timeoutMs, name, text, values);
  return withRole(pool, role, timeoutMs, (c) => c.query({ name, text, values }));
}

module.exports = { createPools, withRole, query, asLogin, prologue };
