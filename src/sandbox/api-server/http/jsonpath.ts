/**
 * Evaluates the simple JSONPath expressions CRD printer columns use: `.status.phase`,
 * `.spec.pool`, `.status.progress.percent`, `.status.conditions[0].type`,
 * `.status.conditions[?(@.type=="Ready")].status`, `.metadata.labels['a.b/c']`.
 */
export function evalJsonPath(obj: unknown, path: string): unknown {
  let p = path.trim();
  if (p.startsWith('{') && p.endsWith('}')) p = p.slice(1, -1);
  if (p.startsWith('$')) p = p.slice(1);
  let cur: unknown = obj;
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']+)'\]|\["([^"]+)"\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["']([^"']*)["']\)\]|\[\*\]/y;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < p.length && (m = re.exec(p)) !== null) {
    if (cur === undefined || cur === null) return undefined;
    const c: any = cur;
    if (m[1] !== undefined) cur = c[m[1]];
    else if (m[2] !== undefined) cur = Array.isArray(c) ? c[Number(m[2])] : undefined;
    else if (m[3] !== undefined || m[4] !== undefined) cur = c[(m[3] ?? m[4])!];
    else if (m[5] !== undefined) {
      const field = m[5];
      const want = m[6];
      cur = Array.isArray(c) ? c.find((x) => String(evalJsonPath(x, `.${field}`)) === want) : undefined;
    } else cur = Array.isArray(c) ? c[0] : undefined;
  }
  return cur;
}
