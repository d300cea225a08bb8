/**
 * A parser for the part of the nats-server config syntax that auth.conf uses (maps with `=`,
 * `:` or blank between key and value, arrays, quoted and bare strings, booleans, numbers, `#`
 * and `//` comments, `,` `;` or newlines between entries), so two configs can be compared by
 * content rather than by layout. Anything else (include, variables) is an error: the test
 * should fail loudly rather than compare half a file.
 */
export type NatsConfValue = string | number | boolean | NatsConfValue[] | { [key: string]: NatsConfValue };

export function parseNatsConf(text: string): Record<string, NatsConfValue> {
  const p = new Parser(text);
  const map = p.entries(undefined);
  p.skipBlank();
  if (!p.done()) throw p.error('trailing text');
  return map;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.i >= this.s.length;
  }

  error(msg: string): Error {
    const line = this.s.slice(0, this.i).split('\n').length;
    return new Error(`nats conf line ${line}: ${msg} at ${JSON.stringify(this.s.slice(this.i, this.i + 20))}`);
  }

  /** Skips whitespace, comments and entry separators. */
  skipBlank(separators = true): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) return;
      if (c === '#' || (c === '/' && this.s[this.i + 1] === '/')) {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else if (/\s/.test(c) || (separators && (c === ',' || c === ';'))) {
        this.i++;
      } else {
        return;
      }
    }
  }

  /** Key/value entries up to `close` (or the end of the text when undefined). */
  entries(close: string | undefined): Record<string, NatsConfValue> {
    const map: Record<string, NatsConfValue> = {};
    for (;;) {
      this.skipBlank();
      if (close === undefined ? this.done() : this.s[this.i] === close) {
        if (close !== undefined) this.i++;
        return map;
      }
      if (this.done()) throw this.error(`missing ${close}`);
      const key = this.key();
      if (key === 'include') throw this.error('include is not supported');
      this.skipBlank(false);
      if (this.s[this.i] === '=' || this.s[this.i] === ':') this.i++;
      this.skipBlank(false);
      if (key in map) throw this.error(`key ${key} given twice`);
      map[key] = this.value();
    }
  }

  private key(): string {
    const c = this.s[this.i];
    if (c === '"' || c === "'") return this.quoted();
    const m = /^[^\s=:{}[\],;#"']+/.exec(this.s.slice(this.i));
    if (!m) throw this.error('expected a key');
    this.i += m[0].length;
    return m[0];
  }

  private value(): NatsConfValue {
    const c = this.s[this.i];
    if (c === '{') {
      this.i++;
      return this.entries('}');
    }
    if (c === '[') {
      this.i++;
      const items: NatsConfValue[] = [];
      for (;;) {
        this.skipBlank();
        if (this.s[this.i] === ']') {
          this.i++;
          return items;
        }
        if (this.done()) throw this.error('missing ]');
        items.push(this.value());
      }
    }
    if (c === '"' || c === "'") return this.quoted();
    const m = /^[^\s,;\]}#]+/.exec(this.s.slice(this.i));
    if (!m) throw this.error('expected a value');
    this.i += m[0].length;
    const word = m[0];
    if (word.startsWith('$')) throw this.error('variables are not supported');
    if (/^(true|yes|on)$/i.test(word)) return true;
    if (/^(false|no|off)$/i.test(word)) return false;
    if (/^-?\d+(\.\d+)?$/.test(word)) return Number(word);
    return word;
  }

  private quoted(): string {
    const q = this.s[this.i]!;
    const end = this.s.indexOf(q, this.i + 1);
    if (q === "'") {
      if (end < 0) throw this.error('unterminated string');
      const v = this.s.slice(this.i + 1, end);
      this.i = end + 1;
      return v;
    }
    // Double quotes: JSON string escapes (what renderAuthorization writes with JSON.stringify).
    const m = /^"(?:[^"\\\n]|\\.)*"/.exec(this.s.slice(this.i));
    if (!m) throw this.error('unterminated string');
    this.i += m[0].length;
    return JSON.parse(m[0]) as string;
  }
}
