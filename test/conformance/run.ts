/**
 * `npm run test:conformance -- [--kubeconfig PATH] [vitest args...]`
 *
 * Runs the conformance suite (test/integration/sandbox-api/conformance-*.test.ts) against the
 * cluster of PATH, or against a fresh sandbox API server when no kubeconfig is given. The
 * sandbox-only files (faults, log files) are not selected for real clusters.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFORMANCE_KUBECONFIG_ENV } from './conformance-env.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function parseArgs(argv: string[]): { kubeconfig?: string; rest: string[] } {
  const rest: string[] = [];
  let kubeconfig: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--kubeconfig') kubeconfig = argv[++i];
    else if (a.startsWith('--kubeconfig=')) kubeconfig = a.slice('--kubeconfig='.length);
    else rest.push(a);
  }
  return { kubeconfig, rest };
}

export async function main(argv: string[]): Promise<number> {
  const { kubeconfig, rest } = parseArgs(argv);
  const env = { ...process.env };
  if (kubeconfig) {
    const path = resolve(kubeconfig);
    if (!existsSync(path)) {
      process.stderr.write(`kubeconfig not found: ${path}\n`);
      return 2;
    }
    env[CONFORMANCE_KUBECONFIG_ENV] = path;
    process.stderr.write(`conformance: running against the cluster of ${path}\n`);
  } else if (!env[CONFORMANCE_KUBECONFIG_ENV]) {
    process.stderr.write('conformance: no --kubeconfig given, running against the in-memory sandbox API server\n');
  }
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const args = [vitest, 'run', '--project', 'integration', 'test/integration/sandbox-api/conformance-', ...rest];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((res) => child.on('exit', (code, signal) => res(code ?? (signal ? 1 : 0))));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
