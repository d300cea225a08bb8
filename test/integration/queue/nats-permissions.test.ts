/**
 * Worker credentials against a real nats-server configured with the role users of
 * nats-permissions.ts: what a pool's agent needs works, and publishing jobs, reading another
 * pool's or namespace's jobs and managing streams or consumers are refused by the server.
 */
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPermissionViolation } from '../../../src/queue/errors.js';
import { controllerPermissions, renderAuthorization, workerInboxPrefix, workerPermissions, workerUserName } from '../../../src/queue/nats-permissions.js';
import { ATTEMPTS_BUCKET, JOBS_STREAM, consumerName, controlSubject, jobSubject } from '../../../src/queue/subjects.js';
import { ensurePoolConsumer, ensureStreams } from '../../../src/queue/topology.js';
import { startNatsServer, type NatsServerHandle } from '../../helpers/nats-server.js';

const ns = 'perm-a';
const otherNs = 'perm-b';
const password = randomUUID();

function workerConnect(url: string, namespace: string, pool: string): Promise<NatsConnection> {
  return connect({ servers: url, user: workerUserName(namespace, pool), pass: password, inboxPrefix: workerInboxPrefix(namespace, pool) });
}

describe('NATS permissions by role', () => {
  let server: NatsServerHandle;
  let controller: NatsConnection;
  let worker: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer({
      config: renderAuthorization([
        { user: 'controller', password, permissions: controllerPermissions() },
        { user: workerUserName(ns, 'gpu'), password, permissions: workerPermissions(ns, 'gpu') },
        { user: workerUserName(ns, 'cpu'), password, permissions: workerPermissions(ns, 'cpu') },
        { user: workerUserName(otherNs, 'gpu'), password, permissions: workerPermissions(otherNs, 'gpu') },
      ]),
    });
    controller = await connect({ servers: server.url, user: 'controller', pass: password });
    const jsm = await jetstreamManager(controller);
    await ensureStreams(jsm, {});
    for (const [n, p] of [[ns, 'gpu'], [ns, 'cpu'], [otherNs, 'gpu']] as const) {
      await ensurePoolConsumer(jsm, { namespace: n, pool: p, ackWaitSeconds: 30, maxAckPending: 10, maxDeliver: -1 });
    }
    worker = await workerConnect(server.url, ns, 'gpu');
  });
  afterAll(async () => {
    await worker?.close();
    await controller?.close();
    await server?.cleanup();
  });

  it('lets a worker pull and ack its own pool, and use the attempts bucket', async () => {
    await jetstream(controller).publish(jobSubject(ns, 'gpu'), 'own-job');
    const js = jetstream(worker);
    const jsm = await jetstreamManager(worker);
    const consumer = await js.consumers.get(JOBS_STREAM, consumerName(ns, 'gpu'));
    expect((await consumer.info(false)).config.durable_name).toBe(consumerName(ns, 'gpu'));
    const m = await consumer.next({ expires: 5_000 });
    expect(m?.string()).toBe('own-job');
    expect(await m!.ackAck()).toBe(true);
    await jsm.streams.info(`KV_${ATTEMPTS_BUCKET}`);
    const kv = await new Kvm(js).open(ATTEMPTS_BUCKET);
    const key = `perm-${randomUUID()}`;
    await kv.create(key, 'claimed');
    expect((await kv.get(key))?.string()).toBe('claimed');
  });

  it('refuses a worker publishing a job', async () => {
    const err = await jetstream(worker).publish(jobSubject(ns, 'gpu'), 'forged', { timeout: 5_000 }).catch((e: unknown) => e);
    expect(isPermissionViolation(err)).toBe(true);
    const err2 = await jetstream(worker).publish(jobSubject(otherNs, 'gpu'), 'forged', { timeout: 5_000 }).catch((e: unknown) => e);
    expect(isPermissionViolation(err2)).toBe(true);
  });

  it("refuses a worker fetching from another pool's or namespace's consumer", async () => {
    for (const [n, p] of [[ns, 'cpu'], [otherNs, 'gpu']] as const) {
      const err = await jetstream(worker).consumers.get(JOBS_STREAM, consumerName(n, p)).catch((e: unknown) => e);
      expect(isPermissionViolation(err)).toBe(true);
    }
  });

  it("lets a worker subscribe to no job subject nor another pool's inbox or control requests, and it receives nothing", async () => {
    const got: string[] = [];
    const errors: unknown[] = [];
    const refused = [
      jobSubject(otherNs, 'gpu'),
      'visionq.jobs.>',
      '_INBOX.>',
      `${workerInboxPrefix(otherNs, 'gpu')}.>`,
      // another pool of its own namespace: it must not see (or answer) that pool's cancel/drain
      controlSubject(ns, 'cpu', 'cpu-pod-1', 'drain'),
      `visionq.control.${ns}.*.*.*`,
    ];
    for (const subject of refused) {
      const sub = worker.subscribe(subject, { callback: (err, msg) => {
        if (!err) got.push(msg.string());
      } });
      await sub.closed.then((e) => e && errors.push(e));
    }
    expect(errors).toHaveLength(refused.length);
    expect(errors.every(isPermissionViolation)).toBe(true);
    // the other namespace's agent pulls its job: nothing of it reaches this worker
    await jetstream(controller).publish(jobSubject(otherNs, 'gpu'), 'secret-payload');
    const other = await workerConnect(server.url, otherNs, 'gpu');
    try {
      const m = await (await jetstream(other).consumers.get(JOBS_STREAM, consumerName(otherNs, 'gpu'))).next({ expires: 5_000 });
      expect(m?.string()).toBe('secret-payload');
      m!.ack();
      await worker.flush();
    } finally {
      await other.close();
    }
    expect(got).toEqual([]);
  });

  it('refuses a worker creating, updating or deleting streams and consumers', async () => {
    const jsm = await jetstreamManager(worker);
    const attempts = [
      () => jsm.streams.add({ name: 'PERM_EVIL', subjects: ['perm.evil.>'] }),
      () => jsm.streams.delete(JOBS_STREAM),
      () => jsm.streams.purge(JOBS_STREAM),
      () => jsm.consumers.add(JOBS_STREAM, { durable_name: 'perm_evil', ack_policy: AckPolicy.Explicit }),
      () => jsm.consumers.update(JOBS_STREAM, consumerName(ns, 'gpu'), { max_ack_pending: 1000 }),
      () => jsm.consumers.delete(JOBS_STREAM, consumerName(otherNs, 'gpu')),
    ];
    for (const attempt of attempts) {
      const err = await attempt().catch((e: unknown) => e);
      expect(isPermissionViolation(err)).toBe(true);
    }
    const cjsm = await jetstreamManager(controller);
    expect((await cjsm.consumers.info(JOBS_STREAM, consumerName(otherNs, 'gpu'))).config.max_ack_pending).toBe(10);
  });
});
