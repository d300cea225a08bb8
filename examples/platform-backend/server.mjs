#!/usr/bin/env node
// A minimal platform backend on visionq/client (node:http, no framework):
//   POST   /videos              {"video": "...", "pool": "...", "tenant"?: "..."}  -> a VisionJob
//          idempotency key: the Idempotency-Key header, else body.idempotencyKey (a retried
//          upload never starts a second job)
//   GET    /jobs/:name          the job's phase, progress and result
//   GET    /jobs/:name/events   Server-Sent Events: one "status" event per change, then "end"
//   DELETE /jobs/:name          cancel
// Run: node examples/platform-backend/server.mjs --kubeconfig .visionq/sandbox/kubeconfig --port 8080
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { IdempotencyConflictError, JobNotFoundError, JobRefusedError, VisionQ } from 'visionq/client';

const MAX_BODY = 64 * 1024;

/** What the front end sees of a job. */
export function summary(job) {
  const s = job.status ?? {};
  return {
    name: job.metadata.name,
    tenant: job.metadata.labels?.['visionq.dev/tenant'],
    phase: job.metadata.deletionTimestamp && !['Succeeded', 'Failed', 'Cancelled'].includes(s.phase) ? 'Cancelling' : (s.phase ?? 'Pending'),
    deleted: Boolean(job.metadata.deletionTimestamp),
    progress: s.progress,
    attempts: s.attempts ?? 0,
    message: s.message,
    result: s.result,
  };
}

function send(res, code, body) {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) reject(Object.assign(new Error('body too large'), { status: 413 }));
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
      } catch {
        reject(Object.assign(new Error('body is not JSON'), { status: 400 }));
      }
    });
    req.on('error', reject);
  });
}

/** Maps the client's named errors to HTTP answers. */
function sendError(res, err) {
  if (err instanceof JobRefusedError) return send(res, 422, { error: err.message, fields: err.fields });
  if (err instanceof JobNotFoundError) return send(res, 404, { error: err.message });
  if (err instanceof IdempotencyConflictError) return send(res, 409, { error: err.message, job: err.existing.metadata.name });
  if (err?.status) return send(res, err.status, { error: err.message });
  return send(res, 500, { error: String(err?.message ?? err) });
}

async function submitVideo(vq, req, res) {
  const body = await readJson(req);
  if (typeof body.video !== 'string' || typeof body.pool !== 'string') return send(res, 400, { error: 'video and pool (strings) are required' });
  const key = req.headers['idempotency-key'] ?? body.idempotencyKey;
  if (typeof key !== 'string' || !key) return send(res, 400, { error: 'an Idempotency-Key header (or body.idempotencyKey) is required' });
  const job = await vq.submit({ pool: body.pool, tenant: body.tenant, input: { video: body.video, ...(body.options ?? {}) } }, { idempotencyKey: key });
  return send(res, 202, summary(job));
}

/** SSE: the first event is the job's current state; the stream ends when the job finishes. */
async function streamEvents(vq, name, req, res) {
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  const events = vq.watch(name, { signal: ac.signal });
  let first;
  try {
    first = await events.next(); // a missing job is still a plain 404, before any SSE header
  } catch (err) {
    return sendError(res, err);
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  const write = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  try {
    if (!first.done) write('status', summary(first.value));
    for await (const job of events) write('status', summary(job));
    write('end', {});
  } catch (err) {
    if (!ac.signal.aborted) write('error', { error: String(err?.message ?? err) });
  }
  res.end();
}

export function createBackend(vq) {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    const m = /^\/jobs\/([a-z0-9-]+)(\/events)?$/.exec(url.pathname);
    const handle = async () => {
      if (req.method === 'POST' && url.pathname === '/videos') return submitVideo(vq, req, res);
      if (m && req.method === 'GET' && m[2]) return streamEvents(vq, m[1], req, res);
      if (m && req.method === 'GET') return send(res, 200, summary(await vq.get(m[1])));
      if (m && req.method === 'DELETE' && !m[2]) {
        await vq.cancel(m[1]);
        return send(res, 202, { name: m[1], cancelling: true });
      }
      return send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    };
    handle().catch((err) => (res.headersSent ? res.end() : sendError(res, err)));
  });
}

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const vq = new VisionQ({ kubeconfig: arg('kubeconfig'), namespace: arg('namespace') });
  const port = Number(arg('port', '8080'));
  createBackend(vq).listen(port, arg('address', '127.0.0.1'), () => console.log(`platform backend on http://127.0.0.1:${port} (namespace ${vq.namespace})`));
}
