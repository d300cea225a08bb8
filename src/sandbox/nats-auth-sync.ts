/**
 * `visionq sandbox --nats-auth`: nats-server runs with static users (nats-permissions.ts), the
 * controller's plus one per WorkerPool. Pools appear at run time, so this component watches them
 * and, for each new one, adds its user to the server config, reloads every nats-server (SIGHUP),
 * waits until the user can log in on each of them and only then writes the password into the
 * pool's Secret. The order matters: an agent whose first connect fails authentication exits
 * (nats.js gives up on a repeated auth error), and worker pods reference the Secret key, so the
 * kubelet holds them in CreateContainerConfigError until the user really exists.
 */
import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { CoreV1Api, type KubeConfig, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { API_GROUP, API_VERSION, WORKER_POOL_PLURAL } from '../api/constants.js';
import { describeApiError, isConflict, isNotFound } from '../kube/api-errors.js';
import { Informer } from '../kube/informer.js';
import { sleep } from '../lib/clock.js';
import { controllerPermissions, renderAuthorization, workerPermissions, workerUserName, type NatsUser } from '../queue/nats-permissions.js';

/** The Secret (in each pool's namespace) whose key `<pool>` holds the pool user's password. */
export const WORKER_NATS_SECRET = 'visionq-worker-nats';
export const CONTROLLER_NATS_USER = 'visionq-controller';

export interface NatsAuthSyncOptions {
  kc: KubeConfig;
  /** The nats-server config file (`-c`) this component owns and rewrites. */
  configPath: string;
  controller: { user: string; password: string };
  secretName?: string;
  /** Makes every running nats-server re-read configPath. */
  reload: () => void;
  /** URLs of the servers running now: a new user must log in on each before its Secret is written. */
  serverUrls: () => string[];
  logger: Logger;
  /** Bound on waiting for one reload to take effect before trying again; default 10 s. */
  reloadTimeoutMs?: number;
  generatePassword?: () => string;
}

/** A pool's user became usable: `readyMs` after the pool was seen. */
export interface PoolUserReady {
  namespace: string;
  pool: string;
  user: string;
  readyMs: number;
  /** Epoch ms when its Secret was written. */
  readyAt: number;
}

export function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** The whole authorization text: the controller (all subjects) and each pool's worker user. */
export function natsAuthConfig(controller: { user: string; password: string }, workers: Iterable<NatsUser>): string {
  return renderAuthorization([{ ...controller, permissions: controllerPermissions() }, ...workers]);
}

/** Written to a temporary file and renamed, so a reload never reads half a config. */
export async function writeNatsAuthConfig(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

/** Only the pool's identity matters here. */
type WorkerPoolObject = KubernetesObject;

export class NatsAuthSync {
  private readonly informer: Informer<WorkerPoolObject>;
  private readonly core: CoreV1Api;
  private readonly users = new Map<string, NatsUser>();
  private readonly pending = new Map<string, { namespace: string; pool: string; seenAt: number }>();
  private removedSinceWrite = false;
  private wake: (() => void) | undefined;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly secretName: string;
  /** Every pool user made usable so far, in order (for the sandbox's figures and tests). */
  readonly ready: PoolUserReady[] = [];

  constructor(private readonly opts: NatsAuthSyncOptions) {
    this.core = opts.kc.makeApiClient(CoreV1Api);
    this.secretName = opts.secretName ?? WORKER_NATS_SECRET;
    this.informer = new Informer<WorkerPoolObject>({
      kc: opts.kc,
      path: `/apis/${API_GROUP}/${API_VERSION}/${WORKER_POOL_PLURAL}`,
      logger: opts.logger,
      name: 'nats-auth-pools',
    });
    this.informer.addEventHandler({
      onAdd: (p) => this.added(p),
      onUpdate: (_o, p) => this.added(p),
      onDelete: (p) => this.deleted(p),
    });
  }

  /** Resolves once the pools present at start are listed (their users are then on the way). */
  async start(): Promise<void> {
    this.informer.start();
    this.loop ??= this.run();
    await this.informer.waitForSync();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.informer.stop();
    await this.loop;
  }

  /** Whether `namespace/pool`'s user is in the config and was seen to log in. */
  isReady(namespace: string, pool: string): boolean {
    return this.ready.some((r) => r.namespace === namespace && r.pool === pool) && this.users.has(`${namespace}/${pool}`);
  }

  private added(p: WorkerPoolObject): void {
    const namespace = p.metadata?.namespace ?? 'default';
    const pool = p.metadata?.name ?? '';
    const key = `${namespace}/${pool}`;
    if (!pool || this.users.has(key) || this.pending.has(key) || p.metadata?.deletionTimestamp) return;
    this.pending.set(key, { namespace, pool, seenAt: Date.now() });
    this.wake?.();
  }

  private deleted(p: WorkerPoolObject): void {
    const key = `${p.metadata?.namespace ?? 'default'}/${p.metadata?.name ?? ''}`;
    this.pending.delete(key);
    // The Secret key stays: a pool re-created under the name gets the same password back.
    if (this.users.delete(key)) {
      this.removedSinceWrite = true;
      this.wake?.();
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      if (this.pending.size === 0 && !this.removedSinceWrite) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      // All pools seen so far go in one config write and one reload.
      const batch = [...this.pending.entries()];
      this.pending.clear();
      this.removedSinceWrite = false;
      try {
        await this.apply(batch.map(([, b]) => b));
      } catch (err) {
        if (signal.aborted) return;
        this.opts.logger.warn({ err: describeApiError(err) }, 'nats-auth: could not add pool users; retrying');
        for (const [key, b] of batch) if (!this.users.has(key) && !this.pending.has(key)) this.pending.set(key, b);
        await sleep(1_000, signal);
      }
    }
  }

  private async apply(batch: Array<{ namespace: string; pool: string; seenAt: number }>): Promise<void> {
    const added: Array<{ namespace: string; pool: string; seenAt: number; user: NatsUser }> = [];
    for (const b of batch) {
      // An existing Secret key is kept (pods already running use it); otherwise a new password.
      const password = (await this.readPassword(b.namespace, b.pool)) ?? (this.opts.generatePassword ?? randomPassword)();
      const user: NatsUser = { user: workerUserName(b.namespace, b.pool), password, permissions: workerPermissions(b.namespace, b.pool) };
      added.push({ ...b, user });
    }
    for (const a of added) this.users.set(`${a.namespace}/${a.pool}`, a.user);
    try {
      await writeNatsAuthConfig(this.opts.configPath, natsAuthConfig(this.opts.controller, this.users.values()));
      this.opts.reload();
      for (const a of added) await this.waitUsable(a.user);
    } catch (err) {
      for (const a of added) this.users.delete(`${a.namespace}/${a.pool}`);
      throw err;
    }
    for (const a of added) {
      await this.writeSecret(a.namespace, a.pool, a.user.password);
      const readyAt = Date.now();
      const readyMs = readyAt - a.seenAt;
      this.ready.push({ namespace: a.namespace, pool: a.pool, user: a.user.user, readyMs, readyAt });
      this.opts.logger.info({ namespace: a.namespace, pool: a.pool, user: a.user.user, readyMs }, 'nats-auth: pool user ready');
    }
  }

  /** Polls a login as `user` on every running server until all accept it (the reload is asynchronous). */
  private async waitUsable(user: NatsUser): Promise<void> {
    const timeoutMs = this.opts.reloadTimeoutMs ?? 10_000;
    for (const url of this.opts.serverUrls()) {
      const deadline = Date.now() + timeoutMs;
      for (let reloads = 0; ; ) {
        try {
          const nc = await connect({ servers: url, user: user.user, pass: user.password, reconnect: false, timeout: 2_000, name: 'visionq-sandbox-auth-check' });
          await nc.close();
          break;
        } catch (err) {
          if (this.abort.signal.aborted) throw err;
          // A SIGHUP that arrived while the server was still starting is lost: send another now and then.
          if (Date.now() > deadline) throw new Error(`nats-server ${url} did not accept user ${user.user} within ${timeoutMs} ms`, { cause: err });
          if (++reloads % 20 === 0) this.opts.reload();
          await sleep(50, this.abort.signal);
        }
      }
    }
  }

  private async readPassword(namespace: string, pool: string): Promise<string | undefined> {
    try {
      const s = await this.core.readNamespacedSecret({ name: this.secretName, namespace });
      return secretValue(s, pool);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async writeSecret(namespace: string, pool: string, password: string): Promise<void> {
    const value = Buffer.from(password).toString('base64');
    for (;;) {
      let existing: V1Secret | undefined;
      try {
        existing = await this.core.readNamespacedSecret({ name: this.secretName, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      try {
        if (!existing) {
          await this.core.createNamespacedSecret({
            namespace,
            body: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: this.secretName, namespace, labels: { 'app.kubernetes.io/managed-by': 'visionq-sandbox' } }, data: { [pool]: value } },
          });
        } else {
          if (secretValue(existing, pool) === password) return;
          await this.core.replaceNamespacedSecret({ name: this.secretName, namespace, body: { ...existing, data: { ...(existing.data ?? {}), [pool]: value } } });
        }
        return;
      } catch (err) {
        // Another pool of the namespace raced us to create or update it: read it again.
        if (!isConflict(err)) throw err;
      }
    }
  }
}

function secretValue(s: V1Secret, key: string): string | undefined {
  const b64 = s.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
  return s.stringData?.[key];
}
