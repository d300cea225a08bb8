import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort } from './free-port.js';
import { jetstreamConfig, NatsServerProcess } from './nats-server-process.js';

/** The cluster's nodes listen but JetStream did not become usable cluster-wide in time. */
export class NatsClusterNotReadyError extends Error {
  override name = 'NatsClusterNotReadyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A node index outside 0..size-1. */
export class NatsClusterNodeIndexError extends Error {
  override name = 'NatsClusterNodeIndexError';
  constructor(index: number, size: number) {
    super(`no node ${index} in a cluster of ${size}`);
  }
}

export interface NatsClusterOptions {
  /** Each node stores JetStream data in `baseDir/<server name>`. */
  baseDir: string;
  /** Default 3; JetStream needs a majority of nodes up, so 3 survives one loss. */
  size?: number;
  clusterName?: string;
  /** Server names are `${namePrefix}${index}`; default `n`. */
  namePrefix?: string;
  host?: string;
  binary?: string;
  /** A nats-server config file every node includes, e.g. an `authorization` block; reload() re-reads it. */
  includeConfig?: string;
  /** Credentials of the readiness probe when the config requires users. */
  probeAuth?: { user: string; password: string };
  /** Bound on waiting for JetStream to be usable after start()/restart(); default 30 s. */
  readyTimeoutMs?: number;
}

export interface NatsClusterNode {
  readonly index: number;
  readonly name: string;
  readonly url: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  readonly storeDir: string;
  readonly pid: number | undefined;
  readonly running: boolean;
}

interface NodeSlot {
  name: string;
  clientPort: number;
  clusterPort: number;
  storeDir: string;
  /** The node's own config file, written by start() (with includeConfig). */
  config?: { file: string; text: string };
  proc: NatsServerProcess;
}

/**
 * N nats-server processes with JetStream, routed to each other on loopback, so tests and
 * the sandbox can kill, wipe and restart single nodes of a real Raft-replicated cluster.
 * Ports are chosen once by create() and kept across restarts, as peers route to them.
 */
export class NatsCluster {
  private constructor(
    private readonly opts: NatsClusterOptions,
    private readonly slots: readonly NodeSlot[],
  ) {}

  static async create(opts: NatsClusterOptions): Promise<NatsCluster> {
    const size = opts.size ?? 3;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`cluster size must be a positive integer, got ${size}`);
    const host = opts.host ?? '127.0.0.1';
    const prefix = opts.namePrefix ?? 'n';
    // Sequential: parallel freePort() calls can be handed the same just-released port.
    const ports: Array<{ client: number; cluster: number }> = [];
    const taken = new Set<number>();
    while (ports.length < size) {
      const client = await freePort();
      const cluster = await freePort();
      if (client === cluster || taken.has(client) || taken.has(cluster)) continue;
      taken.add(client).add(cluster);
      ports.push({ client, cluster });
    }
    const routes = (self: number) =>
      ports
        .filter((_, j) => j !== self)
        .map((p) => `nats://${host}:${p.cluster}`)
        .join(',');
    const slots = ports.map((p, i): NodeSlot => {
      const name = `${prefix}${i}`;
      const storeDir = join(opts.baseDir, name);
      const clusterName = opts.clusterName ?? 'visionq';
      if (opts.includeConfig) {
        // A node config of its own: nats-server 2.9 refuses to reload when the server name or
        // cluster came from flags ("not supported for ServerName"), so everything goes in the file.
        const configFile = join(opts.baseDir, `${name}.conf`);
        const routeList = size > 1 ? `, routes: ${JSON.stringify(routes(i).split(','))}` : '';
        const configText =
          `server_name: ${JSON.stringify(name)}\n` +
          `cluster { name: ${JSON.stringify(clusterName)}, listen: ${JSON.stringify(`${host}:${p.cluster}`)}${routeList} }\n` +
          jetstreamConfig(storeDir, relative(opts.baseDir, opts.includeConfig));
        return { name, clientPort: p.client, clusterPort: p.cluster, storeDir, config: { file: configFile, text: configText }, proc: new NatsServerProcess({ port: p.client, storeDir, host, binary: opts.binary, configFile }) };
      }
      const extraArgs = ['-n', name, '--cluster_name', clusterName, '--cluster', `nats://${host}:${p.cluster}`];
      if (size > 1) extraArgs.push('--routes', routes(i));
      return { name, clientPort: p.client, clusterPort: p.cluster, storeDir, proc: new NatsServerProcess({ port: p.client, storeDir, host, binary: opts.binary, extraArgs }) };
    });
    return new NatsCluster(opts, slots);
  }

  get size(): number {
    return this.slots.length;
  }

  /** Client URLs of all nodes, in index order; hand all of them to clients so they fail over. */
  get urls(): string[] {
    return this.slots.map((s) => s.proc.url);
  }

  get nodes(): NatsClusterNode[] {
    return this.slots.map((s, index) => ({
      index,
      name: s.name,
      url: s.proc.url,
      clientPort: s.clientPort,
      clusterPort: s.clusterPort,
      storeDir: s.storeDir,
      pid: s.proc.pid,
      running: s.proc.running,
    }));
  }

  /**
   * Starts every node that is not running and resolves once JetStream is usable
   * cluster-wide: a stream replicated on every node can be created (the meta leader is
   * elected and all peers have joined it).
   */
  async start(): Promise<void> {
    for (const s of this.slots) {
      if (!s.config) continue;
      await mkdir(this.opts.baseDir, { recursive: true });
      await writeFile(s.config.file, s.config.text);
    }
    await Promise.all(this.slots.map((s) => s.proc.start()));
    await this.waitReady();
  }

  /** Sends `signal` (one that ends the process) without grace, like a crash; keeps the store. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.slot(i).proc.kill(signal);
  }

  /** SIGTERM (SIGKILL after a grace period); keeps the store. */
  async stop(i: number): Promise<void> {
    await this.slot(i).proc.stop();
  }

  /**
   * Starts node i again (same ports, same store) and resolves once it answers JetStream
   * requests; catching up on streams is asynchronous, so callers wait for that themselves.
   */
  async restart(i: number): Promise<void> {
    const slot = this.slot(i);
    await slot.proc.stop();
    await slot.proc.start();
    await this.waitNodeReady(i);
  }

  /** Stops node i and empties its store, as if its disk was lost; restart() rejoins it blank. */
  async wipe(i: number): Promise<void> {
    const slot = this.slot(i);
    await slot.proc.stop();
    await rm(slot.storeDir, { recursive: true, force: true });
    await mkdir(slot.storeDir, { recursive: true });
  }

  /** SIGHUP to every running node: re-read the config file (see NatsServerProcess.reload). */
  reload(): void {
    for (const s of this.slots) s.proc.reload();
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.proc.stop()));
  }

  /** Stops every node and removes their store dirs (not baseDir itself, which the caller owns). */
  async cleanup(): Promise<void> {
    await this.stopAll();
    await Promise.all(this.slots.map((s) => rm(s.storeDir, { recursive: true, force: true })));
  }

  /** Index of the node leading `stream`'s Raft group, undefined while it has no leader. */
  async streamLeader(via: NatsConnection | JetStreamManager, stream: string): Promise<number | undefined> {
    const jsm = 'streams' in via ? via : await jetstreamManager(via, { checkAPI: false });
    const info = await jsm.streams.info(stream);
    return this.indexOf(info.cluster?.leader);
  }

  /** Index of the node with this server name. */
  indexOf(serverName: string | undefined): number | undefined {
    const i = this.slots.findIndex((s) => s.name === serverName);
    return i < 0 ? undefined : i;
  }

  private slot(i: number): NodeSlot {
    const s = this.slots[i];
    if (!s) throw new NatsClusterNodeIndexError(i, this.slots.length);
    return s;
  }

  private async waitReady(): Promise<void> {
    const probe = `VISIONQ_CLUSTER_PROBE_${process.pid}_${Date.now()}`;
    await this.retryUntilReady(this.urls, 'JetStream did not become usable on all nodes', async (jsm) => {
      // An R=size stream can only be placed once every node has joined the meta group.
      await jsm.streams.add({ name: probe, subjects: [`_visionq.probe.${probe}`], num_replicas: this.size });
      await jsm.streams.delete(probe);
    });
  }

  private async waitNodeReady(i: number): Promise<void> {
    await this.retryUntilReady([this.slot(i).proc.url], `JetStream did not become usable on node ${this.slot(i).name}`, async (jsm) => {
      await jsm.getAccountInfo();
    });
  }

  /** Retries `check` (bounded) while the cluster reports JetStream temporarily unavailable. */
  private async retryUntilReady(servers: string[], what: string, check: (jsm: JetStreamManager) => Promise<void>): Promise<void> {
    const timeoutMs = this.opts.readyTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const auth = this.opts.probeAuth ? { user: this.opts.probeAuth.user, pass: this.opts.probeAuth.password } : {};
    const nc = await connect({ servers, name: 'visionq-nats-cluster-probe', reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 100, ...auth });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2_000, checkAPI: false });
      let lastError: unknown;
      while (Date.now() < deadline) {
        try {
          await check(jsm);
          return;
        } catch (err) {
          lastError = err;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new NatsClusterNotReadyError(`${what} within ${timeoutMs} ms`, { cause: lastError });
    } finally {
      await nc.close();
    }
  }
}
