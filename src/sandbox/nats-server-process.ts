import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';

/** nats-server could not be started: missing binary, port taken, bad config. */
export class NatsServerStartError extends Error {
  override name = 'NatsServerStartError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface NatsServerProcessOptions {
  port: number;
  storeDir: string;
  host?: string;
  /** Binary to run; defaults to `nats-server` from PATH. */
  binary?: string;
  startTimeoutMs?: number;
  /** Appended to the command line, e.g. a server name and cluster routes. */
  extraArgs?: readonly string[];
  /**
   * A config file (`-c`) that enables JetStream itself, with storeDir (jetstreamConfig()); the
   * `-js`/`-sd` flags are then left out. Needed for reload(): nats-server 2.9 refuses to reload
   * ("not supported for jetstream storage dir") or drops JetStream when those came from flags.
   */
  configFile?: string;
}

/** Config text enabling JetStream in `storeDir`, then including `include` (a path relative to the config file). */
export function jetstreamConfig(storeDir: string, include?: string): string {
  return `jetstream { store_dir: ${JSON.stringify(storeDir)} }\n${include ? `include ${JSON.stringify(include)}\n` : ''}`;
}

/**
 * A nats-server child process with JetStream on. Stopping keeps the store so a
 * restart (same port, same dir) recovers the streams, which the fault tests
 * rely on to simulate a NATS outage.
 */
export class NatsServerProcess {
  private child: ChildProcess | undefined;
  private stderrTail = '';

  constructor(private readonly opts: NatsServerProcessOptions) {}

  get url(): string {
    return `nats://${this.opts.host ?? '127.0.0.1'}:${this.opts.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await mkdir(this.opts.storeDir, { recursive: true });
    const host = this.opts.host ?? '127.0.0.1';
    const js = this.opts.configFile ? ['-c', this.opts.configFile] : ['-js', '-sd', this.opts.storeDir];
    const proc = spawn(this.opts.binary ?? 'nats-server', ['-a', host, '-p', String(this.opts.port), ...js, ...(this.opts.extraArgs ?? [])], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = proc;
    this.stderrTail = '';
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-8_000);
    });
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (err: NodeJS.ErrnoException) => {
        const hint = err.code === 'ENOENT' ? ' — install it with `apt-get install -y nats-server` (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases' : '';
        reject(new NatsServerStartError(`cannot start nats-server${hint}`, { cause: err }));
      });
      proc.once('exit', (code, signal) => reject(new NatsServerStartError(`nats-server exited during start-up (code ${code}, signal ${signal}): ${this.stderrTail.trim()}`)));
    });
    failed.catch(() => undefined);
    await Promise.race([waitForPort(host, this.opts.port, this.opts.startTimeoutMs ?? 15_000), failed]);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    const proc = this.child;
    this.child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }

  /**
   * Asks the server to re-read its config file (`-c`, e.g. new users) with SIGHUP, as
   * `nats-server --signal reload` does; returns false when it is not running. The reload is
   * asynchronous: callers that depend on it check for its effect (e.g. a new user can log in).
   */
  reload(): boolean {
    if (!this.running) return false;
    return this.child!.kill('SIGHUP');
  }

  /** Sends `signal` with no grace period (a crash, for fault tests); resolves once the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.child;
    this.child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await gone;
  }
}

async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new NatsServerStartError(`nats-server did not listen on ${host}:${port} within ${timeoutMs} ms`);
}
