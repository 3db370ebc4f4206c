#!/usr/bin/env node
'use strict';
// The HTTP side of test/bench/gateway.sh: autocannon against
// GET /recommendations/{model}/{random user}?k=10 with a bearer token.
//   node bench-http.js URL TOKEN MODEL USERS CONNECTIONS SECONDS
// prints one line: "rps p50_ms p99_ms errors".  Percentiles come from each
// response's own time (autocannon's 'response' event, hrtime in ms):
// its summary rounds latencies to whole milliseconds.
const autocannon = require('autocannon');

const times = [];
const pct = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];

const [url, token, model, users, connections, seconds] = process.argv.slice(2);
const inst = autocannon({
  url, connections: Number(connections), duration: Number(seconds), pipelining: 1,
  headers: { authorization: `Bearer ${token}` },
  requests: [{
    method: 'GET',
    // a random user per request, as pgbench's \set u random(1, USERS)
    setupRequest: (req) => ({ ...req, path: `/recommendations/${model}/${1 + Math.floor(Math.random() * Number(users))}?k=10` }),
  }],
}, (err, r) => {
  if (err) { console.error(err); process.exit(1); }
  const errors = r.errors + r.timeouts + r.non2xx;
  times.sort((a, b) => a - b);
  console.log(`${(r.requests.total / Number(seconds)).toFixed(1)} ${pct(0.5).toFixed(3)} ${pct(0.99).toFixed(3)} ${errors}`);
});
inst.on('response', (client, status, bytes, ms) => times.push(ms));
autocannon.track(inst, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
