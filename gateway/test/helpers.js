'use strict';
// Shared by the gateway tests: tokens, HTTP calls, and a superuser
// connection to the same database to compute what the answers must be.
const pg = require('pg');
const { mint } = require('../src/auth');

const URL_ = process.env.GW_URL;
const SECRET = process.env.FR_JWT_SECRET;
if (!URL_ || !SECRET) throw new Error('run through test/run.sh (GW_URL, FR_JWT_SECRET)');

const token = (role, sub, ttlSeconds) => mint(SECRET, { role, sub: sub || `${role}-${process.pid}`, ttlSeconds });

async function call(method, path, { tok, body, headers = {} } = {}) {
  const h = { ...headers };
  if (tok) h.authorization = `Bearer ${tok}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(URL_ + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* text body (metrics, html) */ }
  return { status: res.status, headers: res.headers, json, text };
}

let pool;
async function sql(text, values) {
  pool ??= new pg.Pool({ database: process.env.GW_DB, max: 2 });
  return (await pool.query(text, values)).rows;
}
async function closeDb() { if (pool) await pool.end(); pool = undefined; }

module.exports = { URL: URL_, SECRET, token, call, sql, closeDb };
