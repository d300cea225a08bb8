import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { constants } from 'node:os';

export interface ExitInfo {
  exitCode: number;
  signal?: string;
  /** Set when the process never started (exec failure); exitCode is then 128. */
  startError?: string;
}

export interface ContainerProcessSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  logPath: string;
  /** Start the log afresh (a new pod) instead of appending (a restarted container). */
  truncateLog?: boolean;
}

/**
 * One container as a local process. It leads its own process group so signals reach its
 * children too, and when it exits the rest of the group is killed, as the runtime tears
 * down a container's PID namespace when PID 1 dies. stdout and stderr go straight to the
 * log file (the child holds the fd), so output is never lost if we are slow.
 */
export class ContainerProcess {
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess | undefined;
  private done = false;

  private constructor(spec: ContainerProcessSpec) {
    let child: ChildProcess | undefined;
    let startError: string | undefined;
    let fd: number | undefined;
    try {
      mkdirSync(dirname(spec.logPath), { recursive: true });
      fd = openSync(spec.logPath, spec.truncateLog ? 'w' : 'a');
      mkdirSync(spec.cwd, { recursive: true });
      child = spawn(spec.argv[0], spec.argv.slice(1), {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } catch (err) {
      startError = (err as Error).message;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    this.child = child;
    this.exited = new Promise<ExitInfo>((resolve) => {
      if (!child) {
        this.done = true;
        resolve({ exitCode: 128, startError });
        return;
      }
      child.once('error', (err: NodeJS.ErrnoException) => {
        // Spawn failures (ENOENT, EACCES) arrive here and no 'exit' follows.
        if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) return;
        this.done = true;
        const msg =
          err.code === 'ENOENT'
            ? `exec: "${spec.argv[0]}": executable file not found in $PATH (or working directory ${spec.cwd} missing)`
            : `exec: "${spec.argv[0]}": ${err.message}`;
        resolve({ exitCode: 128, startError: msg });
      });
      child.once('exit', (code, signal) => {
        this.done = true;
        this.killGroup('SIGKILL');
        if (signal) {
          const num = (constants.signals as Record<string, number>)[signal] ?? 9;
          resolve({ exitCode: 128 + num, signal });
        } else {
          resolve({ exitCode: code ?? 0 });
        }
      });
    });
  }

  static start(spec: ContainerProcessSpec): ContainerProcess {
    return new ContainerProcess(spec);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !this.done;
  }

  /** Signals the whole process group; a vanished group is not an error. */
  killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  }
}
