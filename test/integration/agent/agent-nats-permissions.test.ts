/**
 * An agent holding only its pool's worker user (nats-permissions.ts) against a real nats-server
 * with role users: everything it does in a job's life is within its permissions.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHarness, sh } from './harness.js';
import { controllerPermissions, renderAuthorization, workerPermissions, workerUserName } from '../../../src/queue/nats-permissions.js';
import { controlSubject } from '../../../src/queue/subjects.js';
import type { JobEventOf } from '../../../src/queue/job-events.js';

const POOLS = ['ok', 'cancel', 'flaky'];

describe.concurrent('agent with worker NATS permissions', () => {
  const h = new AgentHarness();
  const password = randomUUID();
  // agents log a permission violation the server reports on their connection: there must be none
  const errorLogs: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void errorLogs.push(line) });
  const worker = (pool: string) => ({ natsUser: workerUserName(h.ns, pool), natsPassword: password, logger });
  beforeAll(() =>
    h.setup({
      natsConfig: renderAuthorization([
        { user: 'controller', password, permissions: controllerPermissions() },
        ...POOLS.map((pool) => ({ user: workerUserName(h.ns, pool), password, permissions: workerPermissions(h.ns, pool) })),
      ]),
      controller: { user: 'controller', pass: password },
    }),
  );
  afterAll(async () => {
    await h.teardown();
    expect(errorLogs).toEqual([]);
  });

  it('runs a job to succeeded with its result', async () => {
    await h.pool('ok', { ackWaitSeconds: 1 });
    await h.startAgent('ok', { ...worker('ok'), command: sh('sleep 1.5; echo \'{"frames":7}\' > "$VISIONQ_RESULT_FILE"') });
    const { uid } = await h.publish('ok', { name: 'perm-ok' });
    const done = (await h.waitEvent(uid, (e) => e.type === 'succeeded', 30_000)) as JobEventOf<'succeeded'>;
    expect(done.result).toEqual({ frames: 7 });
    expect((await h.consumerInfo('ok')).num_ack_pending).toBe(0);
  });

  it('answers a cancel request and reports cancelled', async () => {
    await h.pool('cancel', { ackWaitSeconds: 1 });
    await h.startAgent('cancel', { ...worker('cancel'), pod: 'pod-perm-cancel', command: sh('sleep 60') });
    const { uid } = await h.publish('cancel', { name: 'perm-cancel', retries: 3 });
    await h.waitEvent(uid, (e) => e.type === 'started');
    const reply = await h.nc.request(controlSubject(h.ns, 'cancel', 'pod-perm-cancel', 'cancel'), JSON.stringify({ jobUid: uid }), { timeout: 5000 });
    expect(reply.json()).toEqual({ ok: true, state: 'cancelled' });
    await h.waitEvent(uid, (e) => e.type === 'cancelled');
  });

  it('retries a failing job (attempts bucket, NAK with delay) and reports it failed', async () => {
    await h.pool('flaky', { ackWaitSeconds: 2 });
    await h.startAgent('flaky', { ...worker('flaky'), command: sh('exit 1') });
    const { uid } = await h.publish('flaky', { name: 'perm-flaky', retries: 1, backoff: { initialSeconds: 0.2, maxSeconds: 1, factor: 2 } });
    await h.waitEvent(uid, (e) => e.type === 'failed' && !e.willRetry, 30_000);
    const failed = (await h.events(uid)).filter((e): e is JobEventOf<'failed'> => e.type === 'failed');
    expect(failed.map((f) => [f.failures, f.willRetry])).toEqual([
      [1, true],
      [2, false],
    ]);
  });
});
