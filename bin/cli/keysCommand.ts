import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import {
  keyChangeHonouredBy,
  keyPolicySchema,
  keyRefFromInput,
  keyState,
  MAX_KEY_CACHE_TTL_MS,
  type KeyPolicy,
  type KeyRecord,
  type KeyStore,
} from '../../shared/keys';
import { parseDuration } from './parseDuration';
import { KEYS_USAGE } from './usage';
import { UsageError } from './UsageError';

/** What a command writes: `out` is stdout (data), `err` is stderr (messages for the human). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export interface KeysCommandDeps {
  io: CliIo;
  /**
   * The store, opened only once the arguments are known to be valid: `--table`, or the table
   * named by the outputs of `--stage`'s deployed state stack.
   */
  openStore(options: { table?: string; stage?: string }): KeyStore | Promise<KeyStore>;
  /**
   * The tenants of the gateway's config and where they were read: `--config`, else the config
   * `--stage` is deployed with, else the local default file. A key for any other tenant would
   * be refused (401) forever, so create refuses it first.
   * @throws UsageError when the config cannot be read
   */
  configTenants(options: { configPath?: string; stage?: string }): Promise<{ path: string; tenants: ReadonlySet<string> }>;
  now(): number;
}

const COMMON = {
  table: { type: 'string' },
  stage: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const SUBCOMMANDS = {
  create: {
    ...COMMON,
    tenant: { type: 'string' },
    name: { type: 'string' },
    'expires-in': { type: 'string' },
    policy: { type: 'string' },
    /** An admin key: its policy's `role` is `admin` (the operator console, `/v1/admin/...`). */
    admin: { type: 'boolean' },
    config: { type: 'string' },
  },
  list: { ...COMMON, tenant: { type: 'string' }, json: { type: 'boolean' } },
  revoke: { ...COMMON },
  rotate: { ...COMMON, grace: { type: 'string' }, 'expires-in': { type: 'string' } },
} as const satisfies Record<string, ParseArgsConfig['options']>;

type Subcommand = keyof typeof SUBCOMMANDS;

/** `breakwater keys <subcommand> ...`; returns the exit code, throws UsageError on bad usage. */
export async function keysCommand(args: readonly string[], deps: KeysCommandDeps): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
    if (subcommand === undefined) throw new UsageError('missing subcommand', KEYS_USAGE);
    deps.io.out(KEYS_USAGE);
    return 0;
  }
  if (!(subcommand in SUBCOMMANDS)) throw new UsageError(`unknown subcommand "keys ${subcommand}"`, KEYS_USAGE);
  const name = subcommand as Subcommand;

  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    const options: ParseArgsConfig['options'] = SUBCOMMANDS[name];
    // No option is `multiple`, so every value is a string or a boolean.
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    throw new UsageError((error as Error).message, KEYS_USAGE);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    deps.io.out(KEYS_USAGE);
    return 0;
  }
  const table = optionalString(values.table, 'table');
  const stage = optionalString(values.stage, 'stage');
  if (table !== undefined && stage !== undefined) throw new UsageError('pass --table or --stage, not both', KEYS_USAGE);

  switch (name) {
    case 'create': {
      noPositionals(positionals, 'create');
      const tenant = requiredString(values.tenant, 'tenant', 'create');
      const label = optionalString(values.name, 'name');
      const expiresInSeconds = durationOption(values['expires-in'], 'expires-in', { allowZero: false });
      const given = policyOption(values.policy);
      const policy = values.admin === true ? { ...given, role: 'admin' as const } : given;
      const config = await deps.configTenants({ configPath: optionalString(values.config, 'config'), stage });
      if (!config.tenants.has(tenant)) {
        const known = [...config.tenants].map((name) => `"${name}"`).join(', ') || 'none';
        throw new UsageError(
          `tenant "${tenant}" is not in ${config.path} (tenants there: ${known}); the gateway would refuse its key. ` +
            'Add the tenant to the config first, or pass --config <file> for another one.',
        );
      }
      const store = await deps.openStore({ table, stage });
      const { key, record } = await store.create({ tenant, name: label, expiresInSeconds, policy });
      deps.io.err(`Created ${record.policy.role === 'admin' ? 'admin ' : ''}key ${record.prefix} for tenant "${record.tenant}"${describe(record)}.`);
      deps.io.err('This is the only time the key is shown: store it now (it is the last line below).');
      deps.io.out(key);
      return 0;
    }
    case 'list': {
      noPositionals(positionals, 'list');
      const tenant = optionalString(values.tenant, 'tenant');
      const records = await (await deps.openStore({ table, stage })).list(tenant);
      const now = deps.now();
      if (values.json === true) {
        deps.io.out(JSON.stringify(records.map((record) => listEntry(record, now)), null, 2));
        return 0;
      }
      if (records.length === 0) {
        deps.io.err(tenant === undefined ? 'No keys.' : `No keys for tenant "${tenant}".`);
        return 0;
      }
      deps.io.out(
        formatTable(
          ['PREFIX', 'TENANT', 'NAME', 'STATUS', 'CREATED', 'EXPIRES'],
          records.map((record) => {
            const entry = listEntry(record, now);
            return [entry.prefix, entry.tenant, entry.name ?? '-', entry.status, entry.created_at, entry.expires_at ?? '-'];
          }),
        ),
      );
      return 0;
    }
    case 'revoke': {
      const ref = keyRefFromInput(onePositional(positionals, 'revoke'));
      const record = await (await deps.openStore({ table, stage })).revoke(ref);
      deps.io.out(
        `Revoked ${record.prefix} (tenant "${record.tenant}"). Gateways stop accepting it within ${MAX_KEY_CACHE_TTL_MS / 1000} s.`,
      );
      return 0;
    }
    case 'rotate': {
      const ref = keyRefFromInput(onePositional(positionals, 'rotate'));
      if (values.grace === undefined) {
        throw new UsageError('keys rotate needs --grace (how long the old key keeps working, e.g. 1h; 0 for none)', KEYS_USAGE);
      }
      const graceSeconds = durationOption(values.grace, 'grace', { allowZero: true })!;
      const expiresInSeconds = durationOption(values['expires-in'], 'expires-in', { allowZero: false });
      const { key, record, previous } = await (await deps.openStore({ table, stage })).rotate(ref, graceSeconds, { expiresInSeconds });
      deps.io.err(rotationMessage(previous, deps.now()));
      deps.io.err(`New key ${record.prefix} for tenant "${record.tenant}"${describe(record)}.`);
      deps.io.err('This is the only time the key is shown: store it now (it is the last line below).');
      deps.io.out(key);
      return 0;
    }
  }
}

/**
 * When the old key stops working, truthfully: its grace ends at its new expiry for every
 * gateway that reads it after the rotation, but one that cached it just before may accept it
 * for up to the key cache's bound (30 s) after the rotation. `rotatedAt` is read after the
 * store's write returned, so it is never earlier than the write.
 */
function rotationMessage(previous: KeyRecord, rotatedAt: number): string {
  const graceEnd = previous.expiresAt!;
  const everywhereBy = keyChangeHonouredBy(rotatedAt, graceEnd);
  if (everywhereBy <= graceEnd) return `Rotated ${previous.prefix}: it keeps working until ${isoSeconds(graceEnd)}.`;
  return (
    `Rotated ${previous.prefix}: its grace ends ${isoSeconds(graceEnd)}, but gateways cache a key look-up for up to ` +
    `${MAX_KEY_CACHE_TTL_MS / 1000} s, so it stops working everywhere by ${isoSeconds(everywhereBy)}.`
  );
}

function describe(record: KeyRecord): string {
  const parts = [
    ...(record.name === undefined ? [] : [`name "${record.name}"`]),
    ...(record.expiresAt === undefined ? [] : [`expires ${isoSeconds(record.expiresAt)}`]),
  ];
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** What `list` shows of a key: never the key, never its hash. */
function listEntry(record: KeyRecord, now: number) {
  return {
    prefix: record.prefix,
    tenant: record.tenant,
    name: record.name,
    status: keyState(record, now),
    created_at: isoSeconds(record.createdAt),
    expires_at: record.expiresAt === undefined ? undefined : isoSeconds(record.expiresAt),
    revoked_at: record.revokedAt === undefined ? undefined : isoSeconds(record.revokedAt),
    policy: record.policy,
  };
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

function optionalString(value: string | boolean | undefined, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${option} needs a value`, KEYS_USAGE);
  return value;
}

function requiredString(value: string | boolean | undefined, option: string, subcommand: string): string {
  const text = optionalString(value, option);
  if (text === undefined) throw new UsageError(`keys ${subcommand} needs --${option}`, KEYS_USAGE);
  return text;
}

function durationOption(value: string | boolean | undefined, option: string, { allowZero }: { allowZero: boolean }): number | undefined {
  const text = optionalString(value, option);
  if (text === undefined) return undefined;
  const seconds = parseDuration(text);
  if (seconds === undefined || (!allowZero && seconds === 0)) {
    throw new UsageError(`--${option} "${text}" is not a duration like 90s, 15m, 1h, 30d or 2w${allowZero ? ' (or 0)' : ''}`, KEYS_USAGE);
  }
  return seconds;
}

function policyOption(value: string | boolean | undefined): KeyPolicy | undefined {
  const text = optionalString(value, 'policy');
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--policy is not valid JSON: ${(error as Error).message}`);
  }
  const result = keyPolicySchema.safeParse(json);
  if (!result.success) throw new UsageError(`--policy is not a valid key policy:\n${z.prettifyError(result.error)}`);
  return result.data;
}

function noPositionals(positionals: string[], subcommand: string): void {
  // Not echoed: a stray argument may well be a key pasted in the wrong place.
  if (positionals.length > 0) throw new UsageError(`keys ${subcommand} takes no positional arguments`, KEYS_USAGE);
}

function onePositional(positionals: string[], subcommand: string): string {
  if (positionals.length !== 1 || positionals[0]!.trim() === '') {
    throw new UsageError(`keys ${subcommand} needs exactly one key or display prefix`, KEYS_USAGE);
  }
  return positionals[0]!;
}
