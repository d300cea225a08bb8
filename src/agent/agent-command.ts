import { parseArgs } from 'node:util';
import { Agent, type AgentOptions } from './agent.js';

const USAGE = `usage: visionq agent [options] -- COMMAND [ARGS...]

options (env fallback in brackets):
  --nats-url URL               [VISIONQ_NATS_URL] default nats://127.0.0.1:4222 (comma-separated list ok)
  --nats-creds FILE            [VISIONQ_NATS_CREDS]
  --nats-user NAME             [VISIONQ_NATS_USER] static NATS user; the password only from
                               the env VISIONQ_NATS_PASSWORD (not a flag: argv is world-readable)
  --nats-tls-ca FILE           [VISIONQ_NATS_TLS_CA]
  --nats-tls-cert FILE         [VISIONQ_NATS_TLS_CERT]
  --nats-tls-key FILE          [VISIONQ_NATS_TLS_KEY]
  --namespace NS               [VISIONQ_NAMESPACE, POD_NAMESPACE] (required)
  --pool NAME                  [VISIONQ_POOL] (required)
  --pod NAME                   [VISIONQ_POD, POD_NAME] default hostname
  --node NAME                  [VISIONQ_NODE, NODE_NAME]
  --slots N                    [VISIONQ_SLOTS] default 1
  --ack-wait-seconds N         [VISIONQ_ACK_WAIT_SECONDS] default: the consumer's ack_wait
  --job-public-keys K1,K2      [VISIONQ_JOB_PUBLIC_KEYS] run only jobs signed by one of these
                               Ed25519 keys (base64 SPKI DER); the controller sets it
  --permanent-exit-codes 3,4   [VISIONQ_PERMANENT_EXIT_CODES]
  --work-dir DIR               [VISIONQ_WORK_DIR_ROOT] per-attempt scratch dirs
  --http-port N                [VISIONQ_HTTP_PORT] /healthz, /readyz, /metrics; 0 = off (default 0)
  --grace-seconds N            [VISIONQ_GRACE_SECONDS] SIGTERM waits this long for running jobs (default 10)
  --kill-grace-seconds N       [VISIONQ_KILL_GRACE_SECONDS] SIGTERM→SIGKILL gap for a job process (default 5)
  --log-level LEVEL            [VISIONQ_LOG_LEVEL] default info
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `visionq agent` arguments (after the subcommand) with env fallbacks. */
export function parseAgentArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentOptions & { help?: boolean } {
  const sep = argv.indexOf('--');
  const optArgs = sep >= 0 ? argv.slice(0, sep) : argv;
  const command = sep >= 0 ? argv.slice(sep + 1) : [];
  const { values } = parseArgs({
    args: optArgs,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      'nats-url': { type: 'string' },
      'nats-creds': { type: 'string' },
      'nats-user': { type: 'string' },
      'nats-tls-ca': { type: 'string' },
      'nats-tls-cert': { type: 'string' },
      'nats-tls-key': { type: 'string' },
      namespace: { type: 'string' },
      pool: { type: 'string' },
      pod: { type: 'string' },
      node: { type: 'string' },
      slots: { type: 'string' },
      'ack-wait-seconds': { type: 'string' },
      'job-public-keys': { type: 'string' },
      'permanent-exit-codes': { type: 'string' },
      'work-dir': { type: 'string' },
      'http-port': { type: 'string' },
      'grace-seconds': { type: 'string' },
      'kill-grace-seconds': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  const v = (k: keyof typeof values, ...envs: string[]): string | undefined => {
    const x = values[k];
    if (typeof x === 'string' && x.length > 0) return x;
    for (const e of envs) if (env[e]) return env[e];
    return undefined;
  };
  const num = (k: keyof typeof values, envName: string, def?: number): number | undefined => {
    const s = v(k, envName);
    if (s === undefined) return def;
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${k} must be a non-negative number, got "${s}"`);
    return n;
  };
  if (values.help) return { help: true, natsUrl: '', namespace: '', pool: '', command: [] };
  const namespace = v('namespace', 'VISIONQ_NAMESPACE', 'POD_NAMESPACE');
  const pool = v('pool', 'VISIONQ_POOL');
  if (!namespace) throw new UsageError('--namespace is required');
  if (!pool) throw new UsageError('--pool is required');
  if (command.length === 0) throw new UsageError('missing "-- COMMAND [ARGS...]"');
  const codes = v('permanent-exit-codes', 'VISIONQ_PERMANENT_EXIT_CODES');
  const permanentExitCodes = codes
    ? codes.split(',').filter((s) => s.trim() !== '').map((s) => {
        const n = Number(s.trim());
        if (!Number.isInteger(n)) throw new UsageError(`--permanent-exit-codes: "${s}" is not an integer`);
        return n;
      })
    : [];
  const slots = num('slots', 'VISIONQ_SLOTS', 1)!;
  if (!Number.isInteger(slots) || slots < 1) throw new UsageError('--slots must be an integer >= 1');
  return {
    natsUrl: (v('nats-url', 'VISIONQ_NATS_URL') ?? 'nats://127.0.0.1:4222').split(',').map((s) => s.trim()),
    natsCreds: v('nats-creds', 'VISIONQ_NATS_CREDS'),
    natsUser: v('nats-user', 'VISIONQ_NATS_USER'),
    natsPassword: env.VISIONQ_NATS_PASSWORD,
    natsTls: {
      caFile: v('nats-tls-ca', 'VISIONQ_NATS_TLS_CA'),
      certFile: v('nats-tls-cert', 'VISIONQ_NATS_TLS_CERT'),
      keyFile: v('nats-tls-key', 'VISIONQ_NATS_TLS_KEY'),
    },
    namespace,
    pool,
    pod: v('pod', 'VISIONQ_POD', 'POD_NAME'),
    node: v('node', 'VISIONQ_NODE', 'NODE_NAME'),
    slots,
    ackWaitSeconds: num('ack-wait-seconds', 'VISIONQ_ACK_WAIT_SECONDS'),
    jobPublicKeys: v('job-public-keys', 'VISIONQ_JOB_PUBLIC_KEYS')?.split(',').map((k) => k.trim()).filter((k) => k !== ''),
    permanentExitCodes,
    workDir: v('work-dir', 'VISIONQ_WORK_DIR_ROOT'),
    httpPort: num('http-port', 'VISIONQ_HTTP_PORT', 0),
    graceSeconds: num('grace-seconds', 'VISIONQ_GRACE_SECONDS', 10),
    killGraceMs: (num('kill-grace-seconds', 'VISIONQ_KILL_GRACE_SECONDS', 5) ?? 5) * 1000,
    logLevel: v('log-level', 'VISIONQ_LOG_LEVEL') ?? 'info',
    command,
  };
}

/**
 * `visionq agent [options] -- COMMAND [ARGS...]`: runs until SIGTERM/SIGINT, then stops
 * taking jobs, lets running ones finish within --grace-seconds, re-queues the rest.
 * A second signal re-queues at once. Returns the exit code.
 */
export async function agentCommand(argv: string[]): Promise<number> {
  let opts: ReturnType<typeof parseAgentArgs>;
  try {
    opts = parseAgentArgs(argv);
  } catch (err) {
    process.stderr.write(`visionq agent: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const agent = new Agent(opts);
  let signals = 0;
  let stopped: Promise<void> | undefined;
  let onFirstSignal!: () => void;
  const signalled = new Promise<'signal'>((r) => (onFirstSignal = () => r('signal')));
  const onSignal = () => {
    signals++;
    // First signal: graceful; a second one re-queues running jobs at once.
    stopped = agent.stop({ graceMs: signals > 1 ? 0 : undefined, reason: 'sigterm' });
    onFirstSignal();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A signal while still connecting (NATS unreachable) must end the process too.
  const first = await Promise.race([agent.start().then(() => 'started' as const, (err: Error) => err), signalled]);
  if (first instanceof Error && !stopped) {
    process.stderr.write(`visionq agent: ${first.message}\n`);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    return 1;
  }
  await signalled;
  // A second signal may have started a faster stop: wait for whichever finishes.
  while (stopped) {
    const s = stopped;
    await s;
    if (s === stopped) break;
  }
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return 0;
}
