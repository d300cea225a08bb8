/**
 * The sandbox with NATS auth on (`visionq sandbox --nats-auth`): every pool's workers log in as
 * their pool's least-privilege user. An algorithm is arbitrary code that inherits the agent's
 * environment, so here one of them (test/e2e/fixtures/nats-attacker.mjs, in its own namespace and
 * pool) takes those credentials and attacks a victim pool of another namespace: publishing jobs,
 * eavesdropping on job subjects and inboxes, pulling the victim's consumer, managing streams and
 * consumers, forging a `succeeded` event for a running victim job. The server refuses the first
 * four; the forged event changes nothing and the controller counts it. Meanwhile the victims' own
 * lifecycle works as usual under auth (success, cancel by deletion).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { workerUserName } from '../../src/queue/nats-permissions.js';
import { waitFor } from '../helpers/wait-for.js';
import {
  GROUP,
  NS,
  VERSION,
  createJob,
  createPool,
  deleteJob,
  probeJob,
  probePool,
  probeRuns,
  startHarness,
  waitAll,
  waitPhase,
  type Harness,
  type JobObject,
} from './harness.js';

const ATTACKER_NS = 'mallory';
const ATTACKER = 'test/e2e/fixtures/nats-attacker.mjs';

interface Outcome {
  refused: boolean;
  ok: boolean;
  error?: string;
}

interface AttackResult {
  user: string;
  env: { user: string; password: string };
  forgedEvent: { victimSubject: { refused: boolean; published: number }; ownSubject: { refused: boolean; published: number; first: Outcome } };
  publishJob: { victimPool: Outcome; ownPool: Outcome };
  fetchVictim: { consumerInfo: Outcome; pull: Outcome };
  manage: Record<string, Outcome>;
  subscribe: { subscriptions: Record<string, Outcome>; received: number; subjects: string[] };
}

function attackerPool(h: Harness): Record<string, unknown> {
  const pool = probePool(h, 'attacker-pool', { minReplicas: 1, maxReplicas: 1 }) as { metadata: Record<string, unknown>; spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } };
  pool.metadata.namespace = ATTACKER_NS;
  pool.spec.template.spec.containers[0]!.command = [process.execPath, ATTACKER];
  return pool;
}

function attackerJob(name: string, input: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'VisionJob', metadata: { name, namespace: ATTACKER_NS }, spec: { pool: 'attacker-pool', input, timeoutSeconds: 120, retries: 0 } };
}

function jobIn(h: Harness, namespace: string, name: string): JobObject | undefined {
  return h.jobs.store.get(`${namespace}/${name}`);
}

function runningPods(h: Harness, pool: string): number {
  return h.pods.podsOf(pool).filter((p) => p.status?.phase === 'Running').length;
}

async function forgedEventsCounted(h: Harness): Promise<number> {
  const text = await (await fetch(`${h.controllers[0]!.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('visionq_job_events_total') && l.includes('outcome="forged"') && l.includes('type="succeeded"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('sandbox e2e: NATS auth against a hostile algorithm', () => {
  let h: Harness | undefined;
  let signalDir: string | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    if (signalDir) await rm(signalDir, { recursive: true, force: true });
  });

  it("refuses a pool's credentials everything beyond its own pool, and the victims' jobs run as usual", async () => {
    h = await startHarness({ natsAuth: true, nodes: 2, gpusPerNode: 2 });
    const auth = h.sandbox.natsAuth!;
    expect(auth).toBeDefined();
    await h.core.createNamespace({ body: { metadata: { name: ATTACKER_NS } } }).catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
    signalDir = await mkdtemp(join(tmpdir(), 'visionq-attack-'));

    const created = Date.now();
    await createPool(h, probePool(h, 'victim-pool', { minReplicas: 2, maxReplicas: 2 }));
    await h.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ATTACKER_NS, plural: 'workerpools', body: attackerPool(h) });
    await waitFor(() => auth.sync.isReady(NS, 'victim-pool') && auth.sync.isReady(ATTACKER_NS, 'attacker-pool'), { timeoutMs: 30_000, message: 'pool users ready' });
    await waitFor(() => runningPods(h!, 'victim-pool') === 2 && runningPods(h!, 'attacker-pool') === 1, { timeoutMs: 60_000, message: 'worker pods running' });
    const firstRunning = Math.min(...[...h.pods.startedAt.values()]);
    console.log(
      `nats-auth figures: ${auth.sync.ready.map((r) => `${r.namespace}/${r.pool} user usable ${r.readyAt - created} ms after the pool create call (${r.readyMs} ms after the sync saw it)`).join('; ')}; first worker pod Running ${firstRunning - created} ms after the pool create call`,
    );
    // Worker pods carry the pool's user name and take the password from the Secret, never from argv.
    const pod = h.pods.podsOf('attacker-pool')[0]!;
    const c = pod.spec!.containers[0]!;
    expect(c.env).toContainEqual({ name: 'VISIONQ_NATS_USER', value: workerUserName(ATTACKER_NS, 'attacker-pool') });
    expect(c.env).toContainEqual({ name: 'VISIONQ_NATS_PASSWORD', valueFrom: { secretKeyRef: { name: auth.workerSecret, key: 'attacker-pool' } } });
    const secret = await h.core.readNamespacedSecret({ name: auth.workerSecret, namespace: ATTACKER_NS });
    expect(c.command!.join(' ')).not.toContain(Buffer.from(secret.data!['attacker-pool']!, 'base64').toString());

    await createJob(h, probeJob('victim', 'victim-pool', { durationSeconds: 10 }));
    const running = await waitPhase(h, 'victim', 'Running', 60_000);
    await h.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ATTACKER_NS,
      plural: 'visionjobs',
      body: attackerJob('attack', { victim: { namespace: NS, pool: 'victim-pool', name: 'victim', uid: running.metadata.uid }, signalDir }),
    });

    // While the attacker listens on job subjects and inboxes, victim jobs are published, run and cancelled.
    await waitFor(() => existsSync(join(signalDir!, 'forged-sent')), { timeoutMs: 60_000, message: 'forged events sent' });
    await waitFor(() => existsSync(join(signalDir!, 'subscribed')), { timeoutMs: 60_000, message: 'attacker subscribed' });
    await createJob(h, probeJob('victim-2', 'victim-pool', { durationSeconds: 0.5 }));
    await createJob(h, probeJob('victim-3', 'victim-pool', { durationSeconds: 0.5 }));
    await waitAll(h, ['victim-2', 'victim-3'], 'Succeeded', 60_000);
    await createJob(h, probeJob('victim-cancel', 'victim-pool', { durationSeconds: 60 }));
    await waitPhase(h, 'victim-cancel', 'Running', 60_000);
    await waitFor(async () => (await probeRuns(h!)).some((r) => r.job === 'victim-cancel'), { message: 'victim-cancel started' });
    await deleteJob(h, 'victim-cancel');
    await waitFor(async () => (await probeRuns(h!)).find((r) => r.job === 'victim-cancel')?.how === 'killed', { timeoutMs: 30_000, message: 'victim-cancel killed' });
    await waitFor(() => !h!.jobs.store.get(`${NS}/victim-cancel`), { timeoutMs: 30_000, message: 'victim-cancel gone' });
    await writeFile(join(signalDir, 'release'), 'done');

    const attack = await waitFor(
      () => {
        const j = jobIn(h!, ATTACKER_NS, 'attack');
        if (j?.status?.phase === 'Failed') throw new Error(`attacker failed: ${JSON.stringify(j.status)}`);
        return j?.status?.phase === 'Succeeded' ? j : undefined;
      },
      { timeoutMs: 90_000, message: 'attack job Succeeded' },
    );
    const r = attack.status!.result as AttackResult;
    console.log(`attack outcomes: ${JSON.stringify(r)}`);
    expect(r.user).toBe(workerUserName(ATTACKER_NS, 'attacker-pool'));
    // The agent keeps its credentials out of the algorithm's env; the agent's own environ is still readable.
    expect(r.env).toEqual({ user: 'agent', password: 'agent' });

    // (a) no job messages, neither for the victim's pool nor its own
    expect(r.publishJob.victimPool.refused, JSON.stringify(r.publishJob.victimPool)).toBe(true);
    expect(r.publishJob.ownPool.refused, JSON.stringify(r.publishJob.ownPool)).toBe(true);
    // (b) no subscription to job subjects or anyone's inboxes, and nothing received while victim jobs were published
    for (const [subject, o] of Object.entries(r.subscribe.subscriptions)) expect(o.refused, `${subject}: ${JSON.stringify(o)}`).toBe(true);
    expect(Object.keys(r.subscribe.subscriptions)).toHaveLength(4);
    expect(r.subscribe.received).toBe(0);
    // (c) not the victim pool's consumer
    expect(r.fetchVictim.consumerInfo.refused, JSON.stringify(r.fetchVictim.consumerInfo)).toBe(true);
    expect(r.fetchVictim.pull.refused, JSON.stringify(r.fetchVictim.pull)).toBe(true);
    // (d) no stream or consumer management
    for (const [what, o] of Object.entries(r.manage)) expect(o.refused, `${what}: ${JSON.stringify(o)}`).toBe(true);
    // (e) the victim's event subject is refused; its own namespace's subject takes the message...
    expect(r.forgedEvent.victimSubject.refused).toBe(true);
    expect(r.forgedEvent.ownSubject.published, JSON.stringify(r.forgedEvent.ownSubject.first)).toBeGreaterThan(0);
    // ...but changes nothing: the victim finishes with its own result only...
    const victim = await waitPhase(h, 'victim', 'Succeeded', 60_000);
    expect(victim.status?.result).toEqual({ job: 'victim', attempt: 1, video: null, uid: running.metadata.uid });
    expect(victim.status?.attempts).toBe(1);
    const run = (await probeRuns(h)).find((x) => x.job === 'victim');
    expect(run?.how).toBe('end');
    expect(Date.parse(victim.status!.completionTime!)).toBeGreaterThanOrEqual(Math.floor(run!.end! / 1000) * 1000);
    // No forged job ever ran on the victim pool.
    expect((await probeRuns(h)).map((x) => x.job).sort()).toEqual(['victim', 'victim-2', 'victim-3', 'victim-cancel']);
    // ...because the controller dropped the forged events, and counted them.
    await waitFor(async () => (await forgedEventsCounted(h!)) >= r.forgedEvent.ownSubject.published, { timeoutMs: 30_000, message: 'forged events counted' });
  });

  it("on a 3-node NATS cluster every node takes a new pool's user before its workers get it; the controller command logs in with --nats-user", async () => {
    h = await startHarness({ natsAuth: true, natsCluster: 3, nodes: 1, gpusPerNode: 1, controller: false });
    const auth = h.sandbox.natsAuth!;
    // `visionq controller --nats-user visionq-controller` with VISIONQ_NATS_PASSWORD in its env (harness.spawnController)
    h.spawnController('controller-cli');
    const created = Date.now();
    await createPool(h, probePool(h, 'clustered', { minReplicas: 1, maxReplicas: 1 }));
    await waitFor(() => auth.sync.isReady(NS, 'clustered'), { timeoutMs: 30_000, message: 'pool user ready' });
    const r = auth.sync.ready[0]!;
    console.log(`nats-auth figures (3-node cluster): pool user usable on every node ${r.readyAt - created} ms after the pool create call (${r.readyMs} ms after the sync saw it)`);
    const secret = await h.core.readNamespacedSecret({ name: auth.workerSecret, namespace: NS });
    const password = Buffer.from(secret.data!['clustered']!, 'base64').toString();
    for (const url of h.sandbox.natsCluster!.urls) {
      const nc = await connect({ servers: url, user: workerUserName(NS, 'clustered'), pass: password, reconnect: false });
      await nc.close();
    }
    await createJob(h, probeJob('clustered-job', 'clustered'));
    const done = await waitPhase(h, 'clustered-job', 'Succeeded', 90_000);
    expect(done.status?.attempts).toBe(1);

    // A deleted pool's user goes from every node's config.
    await h.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'workerpools', name: 'clustered' });
    for (const url of h.sandbox.natsCluster!.urls) {
      await waitFor(
        async () => {
          const nc = await connect({ servers: url, user: workerUserName(NS, 'clustered'), pass: password, reconnect: false }).catch(() => undefined);
          await nc?.close();
          return nc === undefined;
        },
        { timeoutMs: 30_000, message: `user of the deleted pool refused by ${url}` },
      );
    }
  });
});
