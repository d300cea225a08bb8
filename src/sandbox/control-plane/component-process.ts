import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A control-plane component exited or never became ready. */
export class ComponentStartError extends Error {
  override name = 'ComponentStartError';
  constructor(
    readonly component: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${component}: ${message}`, options);
  }
}

export interface ComponentProcessOptions {
  name: string;
  binary: string;
  args: string[];
  /** stdout and stderr go here (the components log a lot; keeping it off our output). */
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * One upstream component as its own OS process: they share process-wide globals (flags,
 * metrics registries, feature gates), so running two in one process is not an option.
 */
export class ComponentProcess {
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly opts: ComponentProcessOptions) {}

  get name(): string {
    return this.opts.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.opts.logFile), { recursive: true });
    const log = createWriteStream(this.opts.logFile, { flags: 'a' });
    this.log = log;
    const child = spawn(this.opts.binary, this.opts.args, { stdio: ['ignore', 'pipe', 'pipe'], env: this.opts.env ?? process.env });
    this.child = child;
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new ComponentStartError(this.name, `cannot start ${this.opts.binary}`, { cause: err })));
    });
  }

  /**
   * Polls `probe` until it resolves true; fails fast with the log's tail when the
   * process exits first, so a bad flag reads as the component's own message.
   */
  async waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (!this.running) throw new ComponentStartError(this.name, `exited before ${what}:\n${await this.logTail()}`);
      try {
        if (await probe()) return;
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new ComponentStartError(this.name, `not ${what} after ${timeoutMs} ms:\n${await this.logTail()}`, { cause: lastError });
  }

  async logTail(lines = 25): Promise<string> {
    const text = await readFile(this.opts.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  /** SIGTERM, SIGKILL after graceMs; resolves when the process is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.child;
    if (child && this.running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.child = undefined;
    await new Promise<void>((resolve) => (this.log ? this.log.end(() => resolve()) : resolve()));
    this.log = undefined;
  }

  /** SIGKILL at once (fault tests). */
  async kill(): Promise<void> {
    if (this.child && this.running) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
