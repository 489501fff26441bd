import { isRecord } from './upstreamHttp';

/**
 * A value that validates against a JSON schema, built deterministically from the schema and a
 * seed: the simulator's tool arguments and structured answers. Pure, no I/O.
 *
 * Covers what tool and structured-output schemas use: `type` (one or a list), `enum`, `const`,
 * `properties` / `required` (required properties, or every property when none is required),
 * `items` / `prefixItems` / `minItems` / `maxItems`, `minimum` / `maximum` (exclusive too) /
 * `multipleOf`, `minLength` / `maxLength`, the common string `format`s, `anyOf` / `oneOf`
 * (the first branch), `allOf` (merged), and local `$ref`s (`#/$defs/...`, `#/definitions/...`).
 * A `pattern` is not generated from: a string that must match one gets a plain sample.
 */

export interface SampleOptions {
  /** Seeds the numbers and picks: the same seed gives the same value. */
  seed: number;
  /** The text a free-form string property may quote (the user's last message, say). */
  text?: string;
}

type Schema = Record<string, unknown>;

/** Property names whose value is naturally the user's own words. */
const QUOTES_TEXT = /^(q|query|search|question|prompt|text|input|message|topic|subject|city|location|place|keyword|keywords|term)$/i;

const MAX_DEPTH = 12;

/** mulberry32: a tiny seeded generator, enough for sample values. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function sampleFromSchema(schema: unknown, options: SampleOptions): unknown {
  const root = isRecord(schema) ? schema : {};
  const next = seeded(options.seed);
  return new Sampler(root, next, options.text ?? '').value(root, 'value', 0);
}

class Sampler {
  constructor(
    private readonly root: Schema,
    private readonly next: () => number,
    private readonly text: string,
  ) {}

  value(schema: Schema, name: string, depth: number): unknown {
    const resolved = this.resolve(schema);
    if ('const' in resolved) return resolved.const;
    if (Array.isArray(resolved.enum) && resolved.enum.length > 0) return resolved.enum[Math.floor(this.next() * resolved.enum.length)];
    const branches = (resolved.anyOf ?? resolved.oneOf) as unknown;
    if (Array.isArray(branches) && branches.length > 0) {
      // The first branch that is not just `null`, so an optional field still gets a value.
      const branch = branches.find((b) => !(isRecord(b) && b.type === 'null')) ?? branches[0];
      return this.value(isRecord(branch) ? branch : {}, name, depth);
    }
    switch (typeOf(resolved)) {
      case 'object':
        return depth >= MAX_DEPTH ? {} : this.object(resolved, depth);
      case 'array':
        return depth >= MAX_DEPTH ? [] : this.array(resolved, name, depth);
      case 'string':
        return this.string(resolved, name);
      case 'integer':
        return this.number(resolved, true);
      case 'number':
        return this.number(resolved, false);
      case 'boolean':
        return true;
      case 'null':
        return null;
    }
  }

  /** `$ref` followed, `allOf` merged into one schema. */
  private resolve(schema: Schema, hops = 0): Schema {
    let out = schema;
    if (typeof out.$ref === 'string' && hops < MAX_DEPTH) {
      const { $ref, ...rest } = out;
      out = { ...this.resolve(this.pointer($ref as string), hops + 1), ...rest };
    }
    if (Array.isArray(out.allOf)) {
      const { allOf, ...rest } = out;
      out = (allOf as unknown[]).reduce<Schema>((merged, part) => mergeSchemas(merged, isRecord(part) ? this.resolve(part, hops + 1) : {}), rest);
    }
    return out;
  }

  /** A local JSON pointer (`#/$defs/Address`); anything else reads as an empty schema. */
  private pointer(ref: string): Schema {
    if (!ref.startsWith('#')) return {};
    let node: unknown = this.root;
    for (const raw of ref.slice(1).split('/').filter((part) => part !== '')) {
      const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      node = isRecord(node) ? node[part] : undefined;
    }
    return isRecord(node) ? node : {};
  }

  private object(schema: Schema, depth: number): Record<string, unknown> {
    const properties = isRecord(schema.properties) ? schema.properties : {};
    const required = Array.isArray(schema.required) ? schema.required.filter((key): key is string => typeof key === 'string') : [];
    const names = required.length > 0 ? required : Object.keys(properties);
    const out: Record<string, unknown> = {};
    for (const key of names) {
      const property = properties[key];
      out[key] = this.value(isRecord(property) ? property : {}, key, depth + 1);
    }
    return out;
  }

  private array(schema: Schema, name: string, depth: number): unknown[] {
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
    const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
    const max = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(min, 1);
    const length = Math.max(prefix.length, Math.min(Math.max(min, 1), max));
    const items = isRecord(schema.items) ? schema.items : {};
    return Array.from({ length }, (_, i) => this.value(isRecord(prefix[i]) ? (prefix[i] as Schema) : items, name, depth + 1));
  }

  private string(schema: Schema, name: string): string {
    const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
    const max = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
    const sample = FORMATS[String(schema.format)]?.(this.next) ?? this.freeText(name);
    const fitted = sample.length > max ? sample.slice(0, max) : sample;
    return fitted.padEnd(min, 'x');
  }

  private freeText(name: string): string {
    const quoted = this.text.trim().replace(/\s+/g, ' ').slice(0, 60);
    if (QUOTES_TEXT.test(name) && quoted !== '') return quoted;
    return `simulated ${name.replace(/[_-]+/g, ' ')}`.trim();
  }

  private number(schema: Schema, integer: boolean): number {
    const low = bound(schema.minimum, schema.exclusiveMinimum, integer ? 1 : 0.01, Math.max);
    const high = bound(schema.maximum, schema.exclusiveMaximum, integer ? -1 : -0.01, Math.min);
    const from = low ?? (high !== undefined ? high - 100 : 1);
    const to = high ?? from + 99;
    let value = from + this.next() * Math.max(0, to - from);
    const step = typeof schema.multipleOf === 'number' && schema.multipleOf > 0 ? schema.multipleOf : undefined;
    if (step) value = Math.ceil(value / step - 1e-9) * step;
    if (integer) value = Math.ceil(value - 1e-9);
    else if (!step) value = Math.round(value * 100) / 100;
    // Rounding up may have passed the top: come back down by one step.
    if (high !== undefined && value > high) value = step ? Math.floor(high / step) * step : integer ? Math.floor(high) : high;
    return value;
  }
}

/** The inclusive bound of `minimum`/`exclusiveMinimum` (or the maximum's), nudged inside an exclusive one. */
function bound(inclusive: unknown, exclusive: unknown, nudge: number, pick: (a: number, b: number) => number): number | undefined {
  const candidates = [
    ...(typeof inclusive === 'number' ? [inclusive] : []),
    ...(typeof exclusive === 'number' ? [exclusive + nudge] : []),
  ];
  return candidates.length === 0 ? undefined : candidates.reduce(pick);
}

/** The schema's type, inferred from its keywords when it names none; the first non-null of a list. */
function typeOf(schema: Schema): string {
  const { type } = schema;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return (type.find((t) => t !== 'null') ?? type[0] ?? 'string') as string;
  if (isRecord(schema.properties) || schema.required !== undefined) return 'object';
  if (schema.items !== undefined || schema.prefixItems !== undefined) return 'array';
  if (schema.minimum !== undefined || schema.maximum !== undefined) return 'number';
  return 'string';
}

function mergeSchemas(a: Schema, b: Schema): Schema {
  const properties = { ...(isRecord(a.properties) ? a.properties : {}), ...(isRecord(b.properties) ? b.properties : {}) };
  const required = [...(Array.isArray(a.required) ? a.required : []), ...(Array.isArray(b.required) ? b.required : [])];
  return {
    ...a,
    ...b,
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
    ...(required.length > 0 ? { required: [...new Set(required)] } : {}),
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

const FORMATS: Record<string, (next: () => number) => string> = {
  'date-time': () => '2025-01-01T12:00:00Z',
  date: () => '2025-01-01',
  time: () => '12:00:00Z',
  email: () => 'simulated@example.com',
  uri: () => 'https://example.com/simulated',
  url: () => 'https://example.com/simulated',
  hostname: () => 'example.com',
  ipv4: () => '192.0.2.1',
  ipv6: () => '2001:db8::1',
  uuid: (next) => {
    const hex = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  },
  duration: () => 'PT1H',
  'hh:mm': (next) => `${pad(Math.floor(next() * 24))}:${pad(Math.floor(next() * 60))}`,
};
