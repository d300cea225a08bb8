import { parse, type ParseResult } from '@marcbachmann/cel-js';
import type { JSONSchemaProps, ValidationRule } from '../../../api/schema/json-schema-props.js';
import { renderPath, type FieldError, type FieldErrorType, type PathSegment } from '../../../api/schema/field-errors.js';

/** Thrown when a CEL rule in a schema does not even parse: a bug in the schema, not the object. */
export class CelRuleCompileError extends Error {
  constructor(rule: string, cause: unknown) {
    super(`cannot compile x-kubernetes-validations rule ${JSON.stringify(rule)}: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'CelRuleCompileError';
  }
}

const compiled = new Map<string, ParseResult>();

function compile(expr: string): ParseResult {
  let fn = compiled.get(expr);
  if (!fn) {
    try {
      fn = parse(expr);
    } catch (err) {
      throw new CelRuleCompileError(expr, err);
    }
    compiled.set(expr, fn);
  }
  return fn;
}

/** Parses every rule in a schema tree; throws CelRuleCompileError on the first bad one. */
export function compileSchemaRules(schema: JSONSchemaProps): void {
  for (const r of schema['x-kubernetes-validations'] ?? []) {
    compile(r.rule);
    if (r.messageExpression) compile(r.messageExpression);
  }
  for (const s of Object.values(schema.properties ?? {})) compileSchemaRules(s);
  if (schema.items) compileSchemaRules(schema.items);
  if (typeof schema.additionalProperties === 'object') compileSchemaRules(schema.additionalProperties);
}

export function isTransitionRule(rule: ValidationRule): boolean {
  return /\boldSelf\b/.test(rule.rule);
}

function isFreeForm(schema: JSONSchemaProps): boolean {
  return schema['x-kubernetes-int-or-string'] === true || (schema.type === undefined && !schema.properties);
}

/** Untyped JSON → CEL: whole numbers become int (BigInt), the rest stays as is. */
function dynToCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(dynToCel);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = dynToCel(v);
    return out;
  }
  return value;
}

/** JSON value → CEL value, typed by the schema like the apiserver does (integer → int, number → double). */
export function toCel(schema: JSONSchemaProps | undefined, value: unknown, isRoot = false): unknown {
  if (value === null || value === undefined) return value;
  if (!schema || isFreeForm(schema)) return dynToCel(value);
  switch (schema.type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value;
    case 'number':
      return value;
    case 'array':
      return Array.isArray(value) ? value.map((v) => toCel(schema.items, v)) : value;
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (isRoot && k === 'metadata' && v && typeof v === 'object') {
          // Root rules see only metadata.name and metadata.generateName, as in the apiserver.
          const m = v as Record<string, unknown>;
          const meta: Record<string, unknown> = {};
          if (typeof m.name === 'string') meta.name = m.name;
          if (typeof m.generateName === 'string') meta.generateName = m.generateName;
          out[k] = meta;
          continue;
        }
        const sub =
          schema.properties?.[k] ??
          (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
        out[k] = toCel(sub, v);
      }
      return out;
    }
    default:
      return value;
  }
}

/** Parses a rule's fieldPath (`.spec.foo`, `.map['a.b']`, `.list[0]`) into path segments. */
export function parseFieldPath(fieldPath: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[(\d+)\]/y;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < fieldPath.length && (m = re.exec(fieldPath))) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(m[2]);
    else if (m[3] !== undefined) out.push(m[3]);
    else out.push(Number(m[4]));
  }
  return out;
}

const REASONS: Record<string, FieldErrorType> = {
  FieldValueInvalid: 'FieldValueInvalid',
  FieldValueForbidden: 'FieldValueForbidden',
  FieldValueRequired: 'FieldValueRequired',
  FieldValueDuplicate: 'FieldValueDuplicate',
};

export interface RuleContext {
  schema: JSONSchemaProps;
  path: PathSegment[];
  value: unknown;
  /** Correlated old value; `undefined` when there is none (create, or no correlation). */
  oldValue: unknown;
  hasOld: boolean;
  isRoot: boolean;
}

/** Evaluates the node's x-kubernetes-validations; returns one FieldError per failed rule. */
export function evaluateRules(ctx: RuleContext): FieldError[] {
  const rules = ctx.schema['x-kubernetes-validations'];
  if (!rules?.length) return [];
  const errors: FieldError[] = [];
  let self: unknown;
  let oldSelf: unknown;
  let converted = false;
  for (const rule of rules) {
    const transition = isTransitionRule(rule);
    if (transition && !ctx.hasOld) continue;
    if (!converted) {
      self = toCel(ctx.schema, ctx.value, ctx.isRoot);
      oldSelf = ctx.hasOld ? toCel(ctx.schema, ctx.oldValue, ctx.isRoot) : undefined;
      converted = true;
    }
    const vars: Record<string, unknown> = { self };
    if (transition) vars.oldSelf = oldSelf;
    const fieldPath = rule.fieldPath ? [...ctx.path, ...parseFieldPath(rule.fieldPath)] : ctx.path;
    const field = renderPath(fieldPath);
    let ok: unknown;
    try {
      ok = compile(rule.rule)(vars);
    } catch (err) {
      errors.push({
        field,
        type: 'FieldValueInvalid',
        message: `rule evaluation error: ${rule.rule}: ${(err as Error).message.split('\n')[0]}`,
        value: ctx.value,
      });
      continue;
    }
    if (ok === true) continue;
    // Like the apiserver, a failed rule reports the type of the node that holds it as the value.
    errors.push({
      field,
      type: REASONS[rule.reason ?? 'FieldValueInvalid'] ?? 'FieldValueInvalid',
      message: ruleMessage(rule, vars),
      value: ctx.schema.type ?? 'object',
    });
  }
  return errors;
}

function ruleMessage(rule: ValidationRule, vars: Record<string, unknown>): string {
  if (rule.messageExpression) {
    try {
      const msg = compile(rule.messageExpression)(vars);
      if (typeof msg === 'string' && msg.trim() !== '') return msg;
    } catch {
      // fall back to the static message, as the apiserver does
    }
  }
  return rule.message ?? `failed rule: ${rule.rule}`;
}
