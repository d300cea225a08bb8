import { afterEach, describe, expect, it, vi } from 'vitest';
import { sandboxCommand } from '../../../src/sandbox/sandbox-command.js';

/** Runs the command (which must fail flag checks before starting anything) and returns its exit code and stderr. */
async function run(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  const code = await sandboxCommand(argv);
  return { code, stderr };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('visionq sandbox --nats-cluster', () => {
  it('refuses 2 nodes: no majority survives a failure', async () => {
    const { code, stderr } = await run(['--nats-cluster', '2']);
    expect(code).toBe(2);
    expect(stderr).toContain('--nats-cluster must be 1 or at least 3');
  });

  it('refuses 0 and non-integers', async () => {
    expect((await run(['--nats-cluster', '0'])).stderr).toContain('--nats-cluster must be 1 or at least 3');
    const bad = await run(['--nats-cluster', 'three']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--nats-cluster must be a non-negative integer');
  });

  it('refuses --nats-port together with a cluster', async () => {
    const { code, stderr } = await run(['--nats-cluster', '3', '--nats-port', '4222']);
    expect(code).toBe(2);
    expect(stderr).toContain('cannot be used with --nats-cluster');
  });

  it('lists the flag in --help', async () => {
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += chunk.toString();
      return true;
    });
    expect(await sandboxCommand(['--help'])).toBe(0);
    expect(stdout).toContain('[--nats-cluster N]');
  });
});
