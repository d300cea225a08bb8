/**
 * Agents given the controller's public key run only jobs it signed: an unsigned message, one
 * signed by another key, or a signed one moved onto another pool's subject is terminated with
 * a `rejected` event naming no job, and its command never runs (a marker file it would write
 * never appears). Real nats-server, in-process agents.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeJobMessage, JobMessage } from '../../../src/queue/job-message.js';
import { EventAuthenticator } from '../../../src/queue/event-mac.js';
import { safeDecodeJobEvent } from '../../../src/queue/job-events.js';
import { JobSigner } from '../../../src/queue/job-signature.js';
import { EVENTS_STREAM, jobSubject } from '../../../src/queue/subjects.js';
import { waitFor } from '../../helpers/wait-for.js';
import { AgentHarness, sh } from './harness.js';

const exists = (p: string) => access(p).then(() => true, () => false);

describe('agent runs only signed jobs', () => {
  const h = new AgentHarness();
  const { signer } = JobSigner.generate();
  const { signer: forger } = JobSigner.generate();
  beforeAll(() => h.setup());
  afterAll(() => h.teardown());

  const refusals = async (pool: string) =>
    (await h.events()).filter((e) => e.type === 'rejected' && e.pool === pool && e.jobUid === '');

  it('runs a signed job, refuses unsigned and forged ones without running them, and goes on', async () => {
    await h.pool('signed');
    const marker = (n: string) => join(h.tmp, `ran-${n}`);
    await h.startAgent('signed', { command: sh('cp "$VISIONQ_JOB_FILE" "$MARKER_DIR/ran-$VISIONQ_JOB_NAME"'), jobPublicKeys: [signer.publicKey], baseEnv: { PATH: process.env.PATH, PIDS_FILE: h.pidsFile, MARKER_DIR: h.tmp } });

    const ok = await h.publish('signed', { name: 'good' }, { signer });
    await h.waitEvent(ok.uid, (e) => e.type === 'succeeded');
    expect(await exists(marker('good'))).toBe(true);
    // The job's event key stays with the agent: the algorithm's job file has none.
    expect(await readFile(marker('good'), 'utf8')).not.toContain('eventKey');
    // Every event of the job carries a MAC the controller's key verifies.
    const auth = new EventAuthenticator([signer]);
    const last = (await h.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    const macs: boolean[] = [];
    for (let seq = 1; seq <= last; seq++) {
      const m = await h.jsm.streams.getMessage(EVENTS_STREAM, { seq }).catch(() => null);
      if (m && safeDecodeJobEvent(m.data)?.jobUid === ok.uid) macs.push(auth.verify(ok.uid, m.data, m.header));
    }
    expect(macs.length).toBeGreaterThanOrEqual(2);
    expect(macs.every(Boolean)).toBe(true);

    await h.publish('signed', { name: 'unsigned' });
    await h.publish('signed', { name: 'forged' }, { signer: forger });
    await waitFor(async () => (await refusals('signed')).length === 2, { message: 'two refusals' });
    const reasons = (await refusals('signed')).map((e) => (e.type === 'rejected' ? e.reason : ''));
    expect(reasons).toEqual([expect.stringMatching(/unsigned job message/), expect.stringMatching(/unknown key/)]);

    // The pool is not blocked: the next signed job runs, and the refused ones never did.
    const after = await h.publish('signed', { name: 'after' }, { signer });
    await h.waitEvent(after.uid, (e) => e.type === 'succeeded');
    expect(await exists(marker('unsigned'))).toBe(false);
    expect(await exists(marker('forged'))).toBe(false);
    const ci = await h.consumerInfo('signed');
    expect(ci.num_pending + ci.num_ack_pending).toBe(0);
  });

  it('refuses a job signed for another pool and replayed onto this one', async () => {
    await h.pool('victim');
    await h.startAgent('victim', { command: sh('echo ran > "$MARKER_DIR/ran-replayed"'), jobPublicKeys: [signer.publicKey], baseEnv: { PATH: process.env.PATH, PIDS_FILE: h.pidsFile, MARKER_DIR: h.tmp } });
    const job = JobMessage.parse({ uid: 'replayed-uid', namespace: h.ns, pool: 'elsewhere', name: 'replayed', publishedAt: new Date().toISOString() });
    const data = encodeJobMessage(job);
    await h.js.publish(jobSubject(h.ns, 'victim'), data, { headers: signer.headers(data) });
    const ev = await waitFor(async () => (await refusals('victim'))[0], { message: 'refusal' });
    expect(ev.type === 'rejected' && ev.reason).toMatch(/for team-a\/elsewhere delivered to pool team-a\/victim/);
    expect(await readFile(join(h.tmp, 'ran-replayed'), 'utf8').catch(() => 'never ran')).toBe('never ran');
  });
});
