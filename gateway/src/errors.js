'use strict';
// Errors as RFC 9457 problem+json.  The HTTP status comes from the SQLSTATE
// the extension raised (its docs list them per function), so an error means
// the same thing through HTTP as through psql.

// exact SQLSTATEs first, then SQLSTATE classes (first two characters)
const BY_STATE = {
  '22023': 400, // invalid_parameter_value: bad k, unknown parameter key
  '22P02': 400, // invalid_text_representation: a bad number or JSON
  '22004': 400, // null_value_not_allowed
  '22003': 400, // numeric_value_out_of_range: an id beyond bigint
  '54000': 400, // program_limit_exceeded: k above fashionrec.max_k, a training over the memory budget
  '0A000': 400, // feature_not_supported: e.g. context for a non-popularity model
  '42704': 404, // undefined_object: unknown model, version, experiment, feature set
  '42501': 403, // insufficient_privilege: the token's role may not do this
  '55000': 409, // object_not_in_prerequisite_state: no active version, experiment not running
  '23505': 409, // unique_violation: it exists already
  '25006': 503, // read_only_sql_transaction: a write sent to a hot standby
  '57014': 504, // query_canceled: statement timeout
  '40001': 503, // serialization_failure: retry
  '40P01': 503, // deadlock_detected: retry
};
const BY_CLASS = {
  '22': 400, // data exceptions
  '42': 400, // a training source that does not parse or names a missing table/column
  '08': 503, // connection problems
  '53': 503, // insufficient resources
  '57': 503, // operator intervention (shutdown)
};

const TITLES = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict',
  429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

const HINTS = {
  '25006': 'This server is a hot standby: send writes (train, activate, rollback, experiments) to the primary.',
  '57014': 'The statement ran longer than the gateway\'s statement timeout (FR_GATEWAY_STATEMENT_TIMEOUT_MS).',
};

function statusForSqlState(code) {
  if (!code) return 500;
  return BY_STATE[code] ?? BY_CLASS[code.slice(0, 2)] ?? 500;
}

function problem(status, detail, extra = {}) {
  return { type: extra.sqlstate ? `urn:fashionrec:sqlstate:${extra.sqlstate}` : 'about:blank',
           title: TITLES[status] || 'Error', status, detail, ...extra };
}

// A node-postgres error (it carries .code, .hint) or anything else, as a
// problem.  Unknown failures say nothing about internals.
function fromError(err) {
  if (err && typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)) {
    const status = statusForSqlState(err.code);
    const extra = { sqlstate: err.code };
    const hint = err.hint || HINTS[err.code];
    if (hint) extra.hint = hint;
    if (status === 500) return problem(500, 'The database reported an unexpected error.', extra);
    return problem(status, err.message, extra);
  }
  if (err && err.validation) return problem(400, err.message);
  if (err && err.statusCode && err.statusCode < 500) return problem(err.statusCode, err.message);
  if (err && /ECONNREFUSED|ENOENT|timeout exceeded when trying to connect/.test(String(err.message))) {
    return problem(503, 'The database is not reachable.');
  }
  return problem(500, 'Internal error.');
}

function send(reply, p, headers = {}) {
  reply.code(p.status).headers(headers).type('application/problem+json');
  return reply.send(p);
}

// The schema every error response has, referenced from each route.
const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details; sqlstate and hint when the database raised the error',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    sqlstate: { type: 'string' },
    hint: { type: 'string' },
    instance: { type: 'string' },
  },
  required: ['type', 'title', 'status'],
};

module.exports = { statusForSqlState, problem, fromError, send, problemSchema };
