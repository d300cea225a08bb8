/**
 * Invariants of the Dockerfile (no docker engine here to build it): multi-stage,
 * production dependencies only in the final image, non-root, an ENTRYPOINT that
 * reaches the CLI through bin/visionq.js, and the self-contained agent bundle at the
 * path the controller's init container copies. The launcher script is taken out of
 * the Dockerfile and executed against a stand-in bundle.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWorkerPod, DEFAULT_AGENT_INSTALL_PATH } from '../../../src/controller/workerpod/worker-pod-builder.js';
import { copyParts, execForm, parseDockerfile, type Stage } from './dockerfile.js';
import { REPO_ROOT } from './helm.js';

const BUNDLE = '/opt/visionq-agent';
const LAUNCHER = `${BUNDLE}/visionq-agent`;
const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const { stages } = dockerfile;
const final = stages.at(-1)!;
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  type: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function runs(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
}
function stageNamed(name: string): Stage {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
}
/** The stages `stage` copies from, transitively (including itself). */
function lineage(stage: Stage, seen = new Set<Stage>()): Set<Stage> {
  seen.add(stage);
  for (const i of stage.instructions.filter((x) => x.keyword === 'COPY')) {
    const from = copyParts(i.args).from;
    if (from) {
      const src = stageNamed(from);
      if (!seen.has(src)) lineage(src, seen);
    }
  }
  const base = stages.find((x) => x.name === stage.base);
  if (base && !seen.has(base)) lineage(base, seen);
  return seen;
}

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('Dockerfile', () => {
  it('is multi-stage: builds with dev dependencies on node 20 bookworm', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stageNamed('build');
    expect(build.base).toBe('node:20-bookworm-slim');
    const r = runs(build);
    expect(r.some((x) => /\bnpm ci\b/.test(x) && !x.includes('--omit=dev'))).toBe(true);
    expect(r.some((x) => /\bnpm run build\b/.test(x))).toBe(true);
    // The runtime base has the same glibc as the build (docs/worker-image.md relies on it).
    expect(final.base).toMatch(/bookworm/);
  });

  it('ships production dependencies only: no dev install reaches the final image', () => {
    expect(runs(final).some((x) => /\bnpm\b/.test(x))).toBe(false);
    for (const s of lineage(final)) {
      const nodeModules = s.instructions
        .filter((i) => i.keyword === 'COPY')
        .map((i) => copyParts(i.args))
        .filter((c) => c.sources.some((src) => src.includes('node_modules')));
      for (const c of nodeModules) {
        const src = stageNamed(c.from!);
        const installs = runs(src).filter((x) => /\bnpm ci\b/.test(x));
        expect(installs.length, `stage ${src.name} installs node_modules`).toBeGreaterThan(0);
        for (const x of installs) expect(x, `stage ${src.name}`).toMatch(/--omit=dev/);
        for (const x of installs) expect(x, `stage ${src.name} runs no install scripts`).toMatch(/--ignore-scripts/);
      }
      // From the build stage (dev dependencies) only the compiled dist/ is taken.
      for (const c of s.instructions.filter((i) => i.keyword === 'COPY').map((i) => copyParts(i.args))) {
        if (c.from === 'build') expect(c.sources).toEqual(['/src/dist']);
      }
    }
    // Nor is the final image built on top of it.
    for (let s: Stage | undefined = final; s; s = stages.find((x) => x.name === s!.base)) expect(s.name).not.toBe('build');
  });

  it('runs as a non-root numeric user', () => {
    const users = final.instructions.filter((i) => i.keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const [uid, gid] = users.at(-1)!.args.split(':');
    expect(Number(uid)).toBe(65532); // the chart's runAsUser
    expect(Number(gid ?? uid)).toBe(65532);
  });

  it('ENTRYPOINT runs bin/visionq.js, which loads the compiled dist/cli/main.js next to it', () => {
    const entry = execForm(final.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)!.args);
    expect(entry, 'exec-form ENTRYPOINT').toBeDefined();
    expect(entry!.slice(-2)).toEqual([`${BUNDLE}/node`, `${BUNDLE}/bin/visionq.js`]);
    expect(pkg.bin.visionq).toBe('bin/visionq.js');
    expect(readFileSync(join(REPO_ROOT, 'bin/visionq.js'), 'utf8')).toContain("'../dist/cli/main.js'");
    // Where the bundle stage puts bin/ and dist/.
    const bundle = stageNamed('bundle');
    const workdir = bundle.instructions.find((i) => i.keyword === 'WORKDIR')!.args;
    expect(workdir).toBe(BUNDLE);
    const copies = bundle.instructions.filter((i) => i.keyword === 'COPY').map((i) => copyParts(i.args));
    expect(copies).toContainEqual({ from: undefined, sources: ['bin'], dest: './bin' });
    expect(copies).toContainEqual({ from: 'build', sources: ['/src/dist'], dest: './dist' });
    expect(copies).toContainEqual({ from: 'prod-deps', sources: ['/src/node_modules'], dest: './node_modules' });
    // dist/**/*.js are ES modules only with package.json's "type": "module" beside them.
    expect(pkg.type).toBe('module');
    expect(copies).toContainEqual({ from: undefined, sources: ['package.json'], dest: './' });
    // tsc -p tsconfig.build.json maps src/cli/main.ts to dist/cli/main.js.
    const buildCfg = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(buildCfg.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(existsSync(join(REPO_ROOT, 'src/cli/main.ts'))).toBe(true);
    expect(runs(bundle).join('\n')).toContain('cp /usr/local/bin/node ./node');
    expect(final.instructions.filter((i) => i.keyword === 'COPY').map((i) => copyParts(i.args))).toContainEqual({
      from: 'bundle',
      sources: [BUNDLE],
      dest: BUNDLE,
    });
  });

  it('the agent bundle sits where the controller copies it from, with the launcher the worker runs', () => {
    expect(DEFAULT_AGENT_INSTALL_PATH).toBe(BUNDLE);
    const pod = buildWorkerPod(
      {
        metadata: { name: 'gpu', namespace: 'vision', uid: 'u1' },
        spec: { maxReplicas: 1, template: { spec: { containers: [{ name: 'algo', image: 'cuda:12', command: ['python', 'run.py'] }] } } },
      },
      { natsUrlForWorkers: 'nats://nats:4222', agentImage: 'ghcr.io/visionq/visionq:0.1.0' },
      'gpu-abcde',
    );
    const init = pod.spec!.initContainers![0]!;
    expect(init.image).toBe('ghcr.io/visionq/visionq:0.1.0');
    expect(init.command).toContain(`${BUNDLE}/.`);
    const mount = init.volumeMounts![0]!.mountPath;
    // The worker runs <mount>/visionq-agent: the launcher's name inside the bundle.
    expect(pod.spec!.containers[0]!.command![0]).toBe(`${mount}/${LAUNCHER.slice(BUNDLE.length + 1)}`);
    const launcher = stageNamed('bundle').instructions.find((i) => i.keyword === 'COPY' && i.args.endsWith(LAUNCHER));
    expect(launcher?.args).toMatch(/--chmod=0?755/);
    // The init container's `cp` and the entrypoint's tools come with the runtime base.
    expect(init.command![0]).toBe('cp');
  });

  it('the launcher runs the bundled node on bin/visionq.js with `agent` from wherever it was copied', async () => {
    const launcher = stageNamed('bundle').instructions.find((i) => i.keyword === 'COPY' && i.args.endsWith(LAUNCHER))!;
    const script = [...launcher.heredocs.values()][0]!;
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    const root = mkdtempSync(join(tmpdir(), 'visionq-launcher-'));
    tmp.push(root);
    const dir = join(root, 'shared volume', 'visionq'); // a space in the path, on purpose
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(join(dir, 'visionq-agent'), script);
    chmodSync(join(dir, 'visionq-agent'), 0o755);
    symlinkSync(process.execPath, join(dir, 'node'));
    writeFileSync(
      join(dir, 'bin/visionq.js'),
      'process.stdout.write(JSON.stringify({ script: process.argv[1], args: process.argv.slice(2), node: process.execPath }));\n',
    );
    const run = (file: string, cwd: string): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        execFile(file, ['--pool', 'gpu', '--', 'python', 'run.py', 'a b'], { cwd, env: { PATH: '/usr/bin:/bin' } }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        );
      });
    const expected = { args: ['agent', '--pool', 'gpu', '--', 'python', 'run.py', 'a b'], node: process.execPath };
    // By absolute path from elsewhere (how the worker container runs it) ...
    expect(JSON.parse(await run(join(dir, 'visionq-agent'), tmpdir()))).toEqual({ script: join(dir, 'bin/visionq.js'), ...expected });
    // ... and by relative path from its own directory.
    expect(JSON.parse(await run('./visionq-agent', dir))).toEqual({ script: join(dir, 'bin/visionq.js'), ...expected });
  });

  it('.dockerignore lets in exactly what the build copies from the context', () => {
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const fromContext = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && i.heredocs.size === 0)
      .map((i) => copyParts(i.args))
      .filter((c) => !c.from)
      .flatMap((c) => c.sources);
    for (const src of fromContext) {
      expect(allowed, `${src} is in the build context`).toContain(src);
      expect(existsSync(join(REPO_ROOT, src)), `${src} exists`).toBe(true);
    }
    expect(ignore).toContain('**/node_modules');
  });

  it('everything src/ imports at run time is installed by `npm ci --omit=dev` (or a Node builtin)', () => {
    // The production tree is what package-lock.json installs without "dev": true.
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const production = new Set(
      Object.entries(lock.packages)
        .filter(([path, p]) => path.startsWith('node_modules/') && !path.slice('node_modules/'.length).includes('/node_modules/') && !p.dev)
        .map(([path]) => path.slice('node_modules/'.length)),
    );
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const missing = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir)) {
        const p = join(dir, e);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) {
          const code = readFileSync(p, 'utf8');
          // Value imports and dynamic imports; `import type` is erased by tsc.
          for (const m of code.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^'.][^']*)'|import\(\s*'([^'.][^']*)'\s*\)/gm)) {
            const spec = (m[1] ?? m[2])!;
            const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
            if (!builtins.has(spec) && !builtins.has(name) && !production.has(name)) missing.add(`${name} (${p.slice(REPO_ROOT.length + 1)})`);
          }
        }
      }
    };
    walk(join(REPO_ROOT, 'src'));
    expect([...missing]).toEqual([]);
  });

  it('bundles a copy of the official node binary, not a symlink (cp -R would copy a dangling link)', () => {
    const bundle = stageNamed('bundle');
    expect(runs(bundle).join('\n')).not.toMatch(/ln -s[^\n]*\/opt\/visionq-agent/);
    expect(stageNamed('bundle').base).toBe(stageNamed('build').base);
  });
});
