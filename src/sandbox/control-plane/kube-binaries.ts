import { access, constants, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The release the real control plane is built at; hack/kube/versions.env says the same. */
export const KUBE_VERSION = 'v1.36.3';

export const KUBE_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'] as const;
export type KubeBinary = (typeof KUBE_BINARIES)[number];

/** The built control plane is not where we look for it. */
export class KubeBinariesMissingError extends Error {
  override name = 'KubeBinariesMissingError';
  constructor(
    readonly dir: string,
    readonly missing: string[],
  ) {
    super(`the real control plane is not built: ${missing.join(', ')} missing in ${dir}; run \`npm run kube:build\` (needs Go; 15-30 minutes cold)`);
  }
}

/**
 * Where `npm run kube:build` puts the binaries: VISIONQ_KUBE_BIN_DIR, else the user cache
 * keyed by release, so two releases never mix.
 */
export function kubeBinDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VISIONQ_KUBE_BIN_DIR) return env.VISIONQ_KUBE_BIN_DIR;
  const cache = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(cache, 'visionq', 'kube', KUBE_VERSION);
}

export type KubeBinaries = Record<KubeBinary, string> & { dir: string };

/** Resolves every binary, or throws KubeBinariesMissingError naming the build command. */
export async function findKubeBinaries(dir = kubeBinDir()): Promise<KubeBinaries> {
  const missing: string[] = [];
  const found: Partial<Record<KubeBinary, string>> = {};
  for (const b of KUBE_BINARIES) {
    const path = join(dir, b);
    try {
      await access(path, constants.X_OK);
      found[b] = path;
    } catch {
      missing.push(b);
    }
  }
  // The marker is written last by the build: a half-finished build is not a build.
  const complete = await readFile(join(dir, '.complete'), 'utf8').catch(() => undefined);
  if (complete === undefined && missing.length === 0) missing.push('.complete (an interrupted build)');
  if (missing.length > 0) throw new KubeBinariesMissingError(dir, missing);
  return { dir, ...(found as Record<KubeBinary, string>) };
}
