'use strict';
// Training jobs: POST /models/{name}/train answers at once with a job id and
// the training runs on a connection of its own (the training pool), in its
// own transaction under the token's role.  Progress is what the extension
// reports while it trains: its NOTICEs (one per iteration, with the loss)
// and the backend's state in pg_stat_activity.  Jobs live in this process's
// memory; a restart forgets them (the registry keeps the trained versions).
const crypto = require('node:crypto');
const { prologue, asLogin } = require('./db');
const { fromError } = require('./errors');

const TRAIN = `SELECT fashionrec.train(name => $1, algorithm => $2, source => $3,
  params => $4::jsonb, activate => $5::boolean) AS version`;
// asked before answering, so a role that may not train gets its 403 at once
const MAY_TRAIN = `SELECT pg_catalog.has_function_privilege(
  'fashionrec.train(text, text, text, jsonb, boolean)', 'EXECUTE') AS ok`;
// the gateway's own backend, read as the gateway's login role (it is its session)
const ACTIVITY = `SELECT state, wait_event_type, wait_event, xact_start, query_start,
       pg_catalog.round(extract(epoch FROM pg_catalog.clock_timestamp() - xact_start)::numeric, 3) AS seconds
  FROM pg_catalog.pg_stat_activity WHERE pid = $1`;

const MAX_JOBS = 200;          // finished jobs beyond this are forgotten, oldest first
const MAX_NOTICES = 50;        // the last notices of a job are kept

class Jobs {
  constructor(trainPool, pool, cfg, log) {
    this.trainPool = trainPool;
    this.pool = pool;
    this.cfg = cfg;
    this.log = log;
    this.jobs = new Map();
  }

  // Asks the database whether the token's role may train (a 403 comes back
  // at once if not), then returns the job, queued until a connection of the
  // training pool is free; the training runs there in the background.
  // mayTrain(sql) runs one statement as the role on the request pool.
  async start({ name, algorithm, source, params, activate, role, sub }, mayTrain) {
    const [{ ok }] = await mayTrain(MAY_TRAIN);
    if (!ok) {
      const err = new Error(`role ${role} may not train models`);
      err.code = '42501';
      throw err;
    }
    const job = {
      id: crypto.randomUUID(), model: name, algorithm, status: 'queued', role, sub,
      created_at: new Date().toISOString(), started_at: null, finished_at: null, version: null, error: null,
      notices: [], pid: null,
    };
    this.jobs.set(job.id, job);
    this.prune();
    this.run(job, { name, algorithm, source, params, activate, role });
    return job;
  }

  async run(job, { name, algorithm, source, params, activate, role }) {
    let client;
    let broken = false;
    const onNotice = (n) => {
      job.notices.push({ at: new Date().toISOString(), message: n.message });
      if (job.notices.length > MAX_NOTICES) job.notices.shift();
    };
    try {
      client = await this.trainPool.connect();
      job.status = 'running';
      job.started_at = new Date().toISOString();
      job.pid = client.processID;
      client.on('notice', onNotice);
      await client.query(`${prologue(role, this.cfg.trainTimeoutMs)}; SET LOCAL client_min_messages = 'notice'`);
      const { rows } = await client.query(TRAIN, [name, algorithm, source, params ?? {}, activate ?? null]);
      await client.query('COMMIT');
      job.version = rows[0].version;
      job.status = 'succeeded';
    } catch (err) {
      if (client) { try { await client.query('ROLLBACK'); } catch { broken = true; } }
      job.status = 'failed';
      job.error = fromError(err);
    } finally {
      job.finished_at = new Date().toISOString();
      if (client) {
        client.removeListener('notice', onNotice);
        client.release(broken);
      }
      this.log.info({ job: job.id, model: name, status: job.status, version: job.version }, 'training job finished');
    }
  }

  // A job as its owner sees it: the stored state plus, while it runs, its
  // backend's activity.
  async get(id, sub) {
    const job = this.jobs.get(id);
    if (!job || job.sub !== sub) return null;
    const view = { ...job, notices: job.notices.slice(), progress: null };
    delete view.sub;
    if (job.status === 'running') {
      const { rows } = await asLogin(this.pool, 'job_activity', ACTIVITY, [job.pid]);
      view.progress = rows[0] || null;
    }
    const last = job.notices[job.notices.length - 1];
    view.last_notice = last ? last.message : null;
    return view;
  }

  prune() {
    if (this.jobs.size <= MAX_JOBS) return;
    for (const [id, j] of this.jobs) {
      if (j.status !== 'running' && j.status !== 'queued') this.jobs.delete(id);
      if (this.jobs.size <= MAX_JOBS) break;
    }
  }

  running() {
    return [...this.jobs.values()].filter((j) => j.status === 'running' || j.status === 'queued').length;
  }
}

module.exports = { Jobs };
