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

// One parameterised statement as a role; statements are prepared per
// connection under their name (node-postgres caches them), so the hot path
// skips parse and plan.
function query(pool, role, timeoutMs, name, text, values) {
  return withRole(pool, role, timeoutMs, (c) => c.query({ name, text, values }));
}

module.exports = { createPools, withRole, query, prologue };
