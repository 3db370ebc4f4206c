#!/usr/bin/env node
'use strict';
// The HTTP side of test/bench/gateway.sh: autocannon against
// GET /recommendations/{model}/{random user}?k=10 with a bearer token.
//   node bench-http.js URL TOKEN MODEL USERS CONNECTIONS SECONDS
// prints one line: "rps p50_ms p99_ms errors"
const autocannon = require('autocannon');

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
  console.log(`${(r.requests.total / Number(seconds)).toFixed(1)} ${r.latency.p50} ${r.latency.p99} ${errors}`);
});
autocannon.track(inst, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
