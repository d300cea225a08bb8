import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig, makeClients, type KubeClients } from '../../../src/kube/kube-clients.js';
import { LeaderElector, type LeaderElectionOptions } from '../../../src/kube/leader-election.js';
import { startSandboxApi, type SandboxApi } from '../../helpers/sandbox-api.js';
import { waitFor } from '../../helpers/wait-for.js';

describe('LeaderElector against the sandbox API server', () => {
  let sb: SandboxApi;
  let clients: KubeClients;
  const electors: LeaderElector[] = [];
  let seq = 0;

  beforeAll(async () => {
    sb = await startSandboxApi();
    clients = makeClients(loadKubeConfig(sb.kubeconfigPath));
  });

  afterEach(async () => {
    sb.server.faults.reset();
    await Promise.all(electors.splice(0).map((e) => e.stop()));
  });

  afterAll(async () => {
    await sb?.cleanup();
  });

  /** Two candidates on one lease, with a log of who leads and a check that leadership never overlaps. */
  function pair(overrides: Partial<LeaderElectionOptions> = {}) {
    const leaseName = `lease-${process.pid}-${++seq}`;
    const leading = new Set<string>();
    const overlaps: string[] = [];
    const signals = new Map<string, AbortSignal>();
    const newLeaders: string[] = [];
    const make = (identity: string) => {
      const e = new LeaderElector({
        coordination: clients.coordination,
        namespace: 'default',
        leaseName,
        identity,
        // Generous enough that a loaded CI machine does not make a healthy leader miss renewals.
        leaseDurationMs: 5000,
        renewDeadlineMs: 4000,
        retryPeriodMs: 150,
        onStartedLeading: (signal) => {
          if (leading.size > 0) overlaps.push(`${identity} started while ${[...leading].join(',')} led`);
          leading.add(identity);
          signals.set(identity, signal);
        },
        onStoppedLeading: () => leading.delete(identity),
        onNewLeader: (id) => newLeaders.push(`${identity} sees ${id}`),
        ...overrides,
      });
      electors.push(e);
      return e;
    };
    const ids = { a: `a-${seq}`, b: `b-${seq}` };
    const a = make(ids.a);
    const b = make(ids.b);
    return { leaseName, ids, a, b, leading, overlaps, signals, newLeaders };
  }

  const readLease = (name: string) => clients.coordination.readNamespacedLease({ name, namespace: 'default' });

  it('elects exactly one leader and records it on the Lease', async () => {
    const { leaseName, a, b, leading, overlaps, newLeaders } = pair();
    a.start();
    b.start();
    await waitFor(() => leading.size === 1, { message: 'one leader' });
    const leader = [...leading][0]!;
    const lease = await readLease(leaseName);
    expect(lease.spec?.holderIdentity).toBe(leader);
    expect(lease.spec?.leaseDurationSeconds).toBe(5);
    // Renewals keep the same holder: wait for several renewals by watching renewTime move.
    const firstRenew = String(lease.spec?.renewTime);
    await waitFor(async () => String((await readLease(leaseName)).spec?.renewTime) !== firstRenew, {
      message: 'renewTime advances',
    });
    expect(leading).toEqual(new Set([leader]));
    expect([a, b].filter((e) => e.isLeader())).toHaveLength(1);
    expect(overlaps).toEqual([]);
    // Both sides come to agree on who leads.
    await waitFor(() => [a, b].every((e) => e.leader === leader), { message: 'both observe the leader' });
    expect(newLeaders.some((l) => l.endsWith(`sees ${leader}`))).toBe(true);
  });

  it('hands over at once when the leader stops gracefully (release), long before the lease expires', async () => {
    // A 30 s lease: a takeover within the 10 s wait below can only come from the release.
    const { leaseName, ids, a, b, overlaps, signals } = pair({ leaseDurationMs: 30_000, renewDeadlineMs: 20_000 });
    a.start();
    await waitFor(() => a.isLeader(), { message: 'a leads' });
    b.start();
    await waitFor(() => b.leader === a.leader && b.leader !== '', { message: 'b observed a' });
    const transitions = (await readLease(leaseName)).spec?.leaseTransitions ?? 0;
    await a.stop();
    expect(signals.get(ids.a)?.aborted).toBe(true);
    await waitFor(() => b.isLeader(), { timeoutMs: 10_000, message: 'b takes over after release' });
    const lease = await readLease(leaseName);
    expect(lease.spec?.holderIdentity).toBe(ids.b);
    expect(lease.spec?.leaseTransitions).toBeGreaterThan(transitions);
    expect(overlaps).toEqual([]);
  });

  it('hands over at once even when it stops in the middle of a slow renewal', async () => {
    // Every lease call takes 250 ms, so a renewal (read + replace) is in flight most of the time;
    // a release racing it used to get a 409 and leave the standby waiting out the whole lease.
    for (let round = 0; round < 4; round++) {
      const { a, b, ids } = pair({ leaseDurationMs: 30_000, renewDeadlineMs: 20_000 });
      a.start();
      await waitFor(() => a.isLeader(), { message: 'a leads' });
      b.start();
      await waitFor(() => b.leader === ids.a, { message: 'b observed a' });
      sb.server.faults.setLatency(250, /\/leases\//);
      // Stop at a different point of the renew cycle each round.
      await new Promise((r) => setTimeout(r, 200 + round * 170));
      await a.stop();
      await waitFor(() => b.isLeader(), { timeoutMs: 10_000, message: `round ${round}: b takes over after release` });
      sb.server.faults.setLatency(0);
      await b.stop();
    }
  });

  it('a leader whose renewals fail stops leading (its signal aborts), then leadership recovers', async () => {
    const { leaseName, a, b, leading, overlaps, signals } = pair({ leaseDurationMs: 2000, renewDeadlineMs: 1200 });
    a.start();
    b.start();
    await waitFor(() => leading.size === 1, { message: 'one leader' });
    const first = [...leading][0]!;
    const signal = signals.get(first)!;
    sb.server.faults.failNext({ count: 1_000_000, status: 500, path: new RegExp(`/leases/${leaseName}`), verb: 'update' });
    await waitFor(() => signal.aborted && leading.size === 0, { message: 'leader steps down when it cannot renew' });
    sb.server.faults.reset();
    await waitFor(() => leading.size === 1, { message: 'a leader again once the API recovers' });
    expect(overlaps).toEqual([]);
    expect((await readLease(leaseName)).spec?.holderIdentity).toBe([...leading][0]);
  });

  it('a leader whose renewals hang past renewDeadline stops leading', async () => {
    const { leaseName, a, leading, signals, ids } = pair({ leaseDurationMs: 2000, renewDeadlineMs: 1200 });
    a.start();
    await waitFor(() => a.isLeader(), { message: 'a leads' });
    sb.server.faults.setLatency(2500, new RegExp(`/leases/${leaseName}`));
    await waitFor(() => signals.get(ids.a)?.aborted && leading.size === 0, {
      message: 'leader steps down when renewals hang',
    });
    sb.server.faults.setLatency(0);
    await waitFor(() => a.isLeader(), { message: 'leads again once the API answers' });
  });
});
