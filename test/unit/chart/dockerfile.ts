/**
 * A small Dockerfile reader for invariant tests (no docker engine here): joins line
 * continuations, drops comments, keeps heredoc bodies, expands ARG defaults in FROM,
 * and groups instructions by stage.
 */
export interface Instruction {
  keyword: string;
  args: string;
  /** Bodies of `<<'NAME'` heredocs attached to this instruction, by name. */
  heredocs: Map<string, string>;
}

export interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text.split('\n');
  const instructions: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = line.slice(0, -1) + ' ' + lines[++i]!.trim();
      while (i + 1 < lines.length && /^\s*#/.test(lines[i + 1]!)) i++; // comments inside continuations
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`cannot parse Dockerfile line ${i + 1}: ${line}`);
    const heredocs = new Map<string, string>();
    for (const h of m[2]!.matchAll(/<<-?(['"]?)([A-Za-z_]+)\1/g)) {
      const body: string[] = [];
      while (++i < lines.length && lines[i] !== h[2]) body.push(lines[i]!);
      heredocs.set(h[2]!, body.join('\n') + '\n');
    }
    instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), heredocs });
  }

  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [k, v] = ins.args.split('=', 2);
      if (v !== undefined) args.set(k!, v);
      continue;
    }
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`cannot parse FROM ${ins.args}`);
      const base = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args.get((a ?? b)!) ?? '');
      stages.push({ name: m[2], base, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${ins.keyword} before the first FROM`);
    stage.instructions.push(ins);
  }
  return { args, stages };
}

/** The JSON (exec) form of ENTRYPOINT/CMD, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** `COPY [--from=x] [--chmod=..] src... dest` → {from, sources, dest}. */
export function copyParts(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: rest.slice(0, -1), dest: rest.at(-1)! };
}
