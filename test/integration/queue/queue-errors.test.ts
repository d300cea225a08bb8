import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '../../helpers/nats-server.js';
import {
  connectNats,
  isConnectionError,
  isConsumerNotFound,
  isMessageNotFound,
  isNoResponders,
  isQueueFull,
  isStreamNotFound,
  isTimeout,
  isUnavailable,
  isWrongLastSequence,
} from '../../../src/queue/index.js';

/** Resolves the error `p` rejects with; fails the test when it resolves. */
async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (err: unknown) => err,
  );
}

describe('NATS error predicates recognise what nats-server 2.9 really sends', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const stream = `ERRS_${process.pid}`;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectNats({ servers: server.url, name: 'queue-errors-test' });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`errs.${process.pid}.>`], max_msgs: 3, discard: 'new' as never });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.cleanup();
  });

  it('stream missing', async () => {
    const err = await errorOf(jsm.streams.info('NO_SUCH_STREAM'));
    expect(isStreamNotFound(err)).toBe(true);
    expect(isConsumerNotFound(err)).toBe(false);
    expect(isStreamNotFound(await errorOf(jsm.consumers.info('NO_SUCH_STREAM', 'c')))).toBe(true);
  });

  it('consumer missing', async () => {
    const err = await errorOf(jsm.consumers.info(stream, 'no-such-consumer'));
    expect(isConsumerNotFound(err)).toBe(true);
    expect(isStreamNotFound(err)).toBe(false);
    expect(isConsumerNotFound(await errorOf(jsm.consumers.delete(stream, 'no-such-consumer')))).toBe(true);
    expect(isConsumerNotFound(await errorOf(jetstream(nc).consumers.get(stream, 'no-such-consumer')))).toBe(true);
  });

  it('message missing (deleted, past the last one) but not a store failure', async () => {
    const js = jetstream(nc);
    const subject = `errs.${process.pid}.m`;
    const a = await js.publish(subject, 'a');
    const b = await js.publish(subject, 'b');
    await jsm.streams.deleteMessage(stream, a.seq, false);
    // Deleted before, inside the stream's range.
    expect(isMessageNotFound(await errorOf(jsm.streams.deleteMessage(stream, a.seq, false)))).toBe(true);
    await jsm.streams.deleteMessage(stream, b.seq, false);
    // The last message, deleted before: "sequence N not found".
    expect(isMessageNotFound(await errorOf(jsm.streams.deleteMessage(stream, b.seq, false)))).toBe(true);
    // Never written: a store failure (EOF), which must not pass for "already gone".
    const eof = await errorOf(jsm.streams.deleteMessage(stream, b.seq + 1000, false));
    expect(isMessageNotFound(eof)).toBe(false);
    expect(isStreamNotFound(eof)).toBe(false);
  });

  it('full stream and lost compare-and-set', async () => {
    const js = jetstream(nc);
    const subject = `errs.${process.pid}.full`;
    let full: unknown;
    for (let i = 0; i < 4 && !full; i++) full = await js.publish(subject, String(i)).then(() => undefined, (err: unknown) => err);
    expect(isQueueFull(full)).toBe(true);
    expect(isUnavailable(full)).toBe(false);
    const kv = await new Kvm(js).create(`errs_${process.pid}`);
    await kv.create('k', new TextEncoder().encode('1'));
    expect(isWrongLastSequence(await errorOf(kv.create('k', new TextEncoder().encode('2'))))).toBe(true);
    expect(isWrongLastSequence(await errorOf(kv.update('k', new TextEncoder().encode('2'), 999)))).toBe(true);
  });

  it('no responders and timeouts', async () => {
    const none = await errorOf(nc.request(`noreply.${process.pid}.nobody`, 'x', { timeout: 2000 }));
    expect(isNoResponders(none)).toBe(true);
    expect(isUnavailable(none)).toBe(true);
    const sub = nc.subscribe(`noreply.${process.pid}.silent`);
    try {
      const slow = await errorOf(nc.request(`noreply.${process.pid}.silent`, 'x', { timeout: 100 }));
      expect(isTimeout(slow)).toBe(true);
      expect(isNoResponders(slow)).toBe(false);
      expect(isUnavailable(slow)).toBe(true);
    } finally {
      sub.unsubscribe();
    }
  });

  it('closed connection and a refused connect', async () => {
    const other = await connectNats({ servers: server.url, name: 'queue-errors-closed' });
    const otherJsm = await jetstreamManager(other);
    await other.close();
    for (const err of [await errorOf(other.request('x', 'y')), await errorOf(otherJsm.streams.info(stream)), await errorOf(jetstream(other).publish(`errs.${process.pid}.c`, 'x'))]) {
      expect(isConnectionError(err)).toBe(true);
      expect(isUnavailable(err)).toBe(true);
    }
    const dead = await startNatsServer();
    await dead.cleanup();
    // connectNats waits for the first connect forever; a plain connect gives up at once.
    const refused = await errorOf(connect({ servers: dead.url, name: 'queue-errors-refused', reconnect: false }));
    expect(isConnectionError(refused)).toBe(true);
  });
});
