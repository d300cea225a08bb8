/**
 * The controller's NATS connection. NATS being down never crashes the controller: connecting
 * retries forever, the client reconnects by itself, and while it is away `current()` is
 * undefined so callers leave jobs Pending with a NatsUnavailable condition. After every
 * (re)connect the streams are ensured again (a server restarted without its store) before the
 * connection is handed out.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Backoff } from '../../kube/backoff.js';
import { sleep } from '../../kube/clock.js';
import { connectNats, type ConnectNatsOptions } from '../../queue/connect.js';
import { ensureStreams, type StreamsOptions } from '../../queue/topology.js';
import type { NatsAccess, NatsHandles } from './context.js';

export interface NatsConnectorOptions extends ConnectNatsOptions {
  logger: Logger;
  streams?: StreamsOptions;
  onConnectedChange?: (connected: boolean) => void;
}

export class NatsConnector implements NatsAccess {
  private handles?: NatsHandles;
  private ready = false;
  private readonly listeners = new Set<(connected: boolean) => void>();
  private readonly ac = new AbortController();
  private loop?: Promise<void>;
  private nc?: NatsConnection;

  constructor(private readonly opts: NatsConnectorOptions) {
    if (opts.onConnectedChange) this.listeners.add(opts.onConnectedChange);
  }

  current(): NatsHandles | undefined {
    return this.ready ? this.handles : undefined;
  }

  connected(): boolean {
    return this.ready;
  }

  /** Called with true after every (re)connect once the streams exist, false on disconnect. */
  onChange(fn: (connected: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.ac.abort();
    this.setReady(false);
    try {
      await this.nc?.close();
    } catch {
      // already closed
    }
    // connectNats may still be waiting for a first connect that never comes: do not wait for it.
    await Promise.race([this.loop, sleep(2000)]);
  }

  private get log(): Logger {
    return this.opts.logger;
  }

  private setReady(ready: boolean): void {
    if (this.ready === ready) return;
    this.ready = ready;
    this.log.info({ connected: ready }, ready ? 'NATS connected' : 'NATS disconnected');
    for (const l of this.listeners) {
      try {
        l(ready);
      } catch (err) {
        this.log.warn({ err }, 'NATS listener threw');
      }
    }
  }

  private async run(): Promise<void> {
    const signal = this.ac.signal;
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    // A refused or closed connection (bad credentials, TLS) is retried, never thrown.
    while (!signal.aborted) {
      try {
        const nc = await connectNats(this.opts);
        if (signal.aborted) {
          await nc.close().catch(() => undefined);
          return;
        }
        this.nc = nc;
        backoff.reset();
        void this.prepare(nc);
        for await (const s of nc.status()) {
          if (signal.aborted) break;
          if (s.type === 'disconnect') this.setReady(false);
          else if (s.type === 'reconnect') void this.prepare(nc);
        }
        // status() ends when the connection is closed for good.
        this.setReady(false);
      } catch (err) {
        this.setReady(false);
        this.log.warn({ err: (err as Error).message }, 'cannot connect to NATS; retrying');
      }
      if (!signal.aborted) await sleep(backoff.next(), signal);
    }
  }

  /** Ensures the streams (retrying while connected), then hands the connection out. */
  private async prepare(nc: NatsConnection): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    while (!this.ac.signal.aborted && !nc.isClosed()) {
      try {
        const jsm = await jetstreamManager(nc);
        const ensured = await ensureStreams(jsm, { ...this.opts.streams, serverInfo: nc.info });
        if (ensured.underReplicated.length > 0) {
          this.log.warn({ streams: ensured.underReplicated }, 'NATS cannot place all stream replicas now (a server is down?); kept the current count, will retry on the next reconnect');
        }
        this.handles = { nc, js: jetstream(nc), jsm };
        this.setReady(true);
        return;
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'JetStream not ready; retrying');
        await sleep(backoff.next(), this.ac.signal);
      }
    }
  }
}
