/**
 * The controller's fence against acting on an old delivery (the pod-death NAK, the unqueue of a
 * suspended job): nats-server 2.9 applies an old delivery's ACK/NAK to the newer one, so the
 * controller asks VISIONQ_ATTEMPTS whether a newer delivery was claimed. Real nats-server.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newerDeliveryClaimed } from '../../../src/controller/visionjob/attempt-records.js';
import type { NatsHandles } from '../../../src/controller/manager/context.js';
import { AttemptStore } from '../../../src/queue/attempt-store.js';
import { ATTEMPTS_BUCKET } from '../../../src/queue/subjects.js';
import { ensureStreams } from '../../../src/queue/topology.js';
import { startNatsServer, type NatsServerHandle } from '../../helpers/nats-server.js';

describe('attempt fence', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let nats: NatsHandles;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    nats = { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
    await ensureStreams(nats.jsm, {});
  });
  afterAll(async () => {
    await nc?.close();
    await server?.cleanup();
  });

  it('says a newer delivery was claimed only when the record names one', async () => {
    const agents = new AttemptStore(await new Kvm(nats.js).open(ATTEMPTS_BUCKET));
    expect(await newerDeliveryClaimed(nats, 'fence-1', { streamSeq: 5, deliveryCount: 1 })).toBe(false);
    await agents.claim('fence-1', { streamSeq: 5, deliveryCount: 1 }, 'pod-a');
    expect(await newerDeliveryClaimed(nats, 'fence-1', { streamSeq: 5, deliveryCount: 1 })).toBe(false);
    // The message came back (ack_wait) and another agent claimed it.
    await agents.claim('fence-1', { streamSeq: 5, deliveryCount: 2 }, 'pod-b');
    expect(await newerDeliveryClaimed(nats, 'fence-1', { streamSeq: 5, deliveryCount: 1 })).toBe(true);
    expect(await newerDeliveryClaimed(nats, 'fence-1', { streamSeq: 5, deliveryCount: 2 })).toBe(false);
    // Re-published under a new requeue generation: a new stream sequence is newer too.
    await agents.claim('fence-1', { streamSeq: 9, deliveryCount: 1 }, 'pod-c');
    expect(await newerDeliveryClaimed(nats, 'fence-1', { streamSeq: 5, deliveryCount: 2 })).toBe(true);
  });
});
