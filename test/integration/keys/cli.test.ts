import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DynamoKeyStore, hashKey, KeyResolver } from '../../../shared/keys';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';

const CLI = fileURLToPath(new URL('../../../bin/breakwater.js', import.meta.url));
const run = promisify(execFile);

/** The gateway config the CLI checks tenants against: a key for a tenant it lacks would be refused. */
const CONFIG_PATH = join(mkdtempSync(join(tmpdir(), 'breakwater-cli-')), 'breakwater.config.json');
writeFileSync(
  CONFIG_PATH,
  JSON.stringify({
    providers: { sim: { type: 'simulated' } },
    routes: { main: { targets: [{ provider: 'sim' }], strategy: { mode: 'single' } } },
    tenants: { acme: { route: 'main' }, rotating: { route: 'main' } },
  }),
);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('npx breakwater keys (against DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let store: DynamoKeyStore;

  /** Spawns the real CLI the way `npx breakwater` does, pointed at the test store. */
  async function cli(...args: string[]): Promise<CliResult> {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      BREAKWATER_TABLE_KEYS: dynamo.tables.keys,
      BREAKWATER_CONFIG: CONFIG_PATH,
    };
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  before(async () => {
    dynamo = await startDynamoLocal();
    store = new DynamoKeyStore({ doc: dynamo.doc, tableName: dynamo.tables.keys });
  });
  after(async () => {
    await dynamo?.stop();
  });

  it('creates a key, printed once as the last line; list shows its prefix only; revoke by prefix ends it', async () => {
    const created = await cli('keys', 'create', '--tenant', 'acme', '--name', 'ci', '--expires-in', '30d', '--policy', '{"rpm_limit":60}');
    assert.equal(created.code, 0, created.stderr);
    const lines = created.stdout.trimEnd().split('\n');
    const key = lines.at(-1)!;
    assert.match(key, /^bw_live_[0-9A-Za-z]{43}$/);
    assert.equal(`${created.stdout}${created.stderr}`.split(key).length - 1, 1, 'the key is printed exactly once');
    const prefix = key.slice(0, 12);
    assert.match(created.stderr, new RegExp(`^Created key ${prefix} for tenant "acme" \\(name "ci", expires \\d{4}-\\d\\d-\\d\\dT`));

    const stored = await store.getByHash(hashKey(key));
    assert.deepEqual({ tenant: stored?.tenant, name: stored?.name, policy: stored?.policy }, { tenant: 'acme', name: 'ci', policy: { rpm_limit: 60 } });
    assert.equal((await new KeyResolver({ store }).resolve(key))?.tenant, 'acme');

    const listed = await cli('keys', 'list', '--tenant', 'acme');
    assert.equal(listed.code, 0, listed.stderr);
    const [header, row, ...more] = listed.stdout.trimEnd().split('\n');
    assert.deepEqual(header?.split(/\s+/), ['PREFIX', 'TENANT', 'NAME', 'STATUS', 'CREATED', 'EXPIRES']);
    assert.deepEqual(row?.split(/\s+/).slice(0, 4), [prefix, 'acme', 'ci', 'active']);
    assert.deepEqual(more, []);
    assert.equal(listed.stdout.includes(key), false);
    assert.equal(listed.stdout.includes(key.slice(12)), false);
    assert.equal(listed.stdout.includes(hashKey(key)), false);

    const json = await cli('keys', 'list', '--json');
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stdout.includes(key.slice(12)), false);
    assert.equal(json.stdout.includes(hashKey(key)), false);
    assert.deepEqual(
      (JSON.parse(json.stdout) as Array<{ prefix: string; status: string }>).map(({ prefix, status }) => ({ prefix, status })),
      [{ prefix, status: 'active' }],
    );

    const revoked = await cli('keys', 'revoke', prefix);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `Revoked ${prefix} (tenant "acme"). Gateways stop accepting it within 30 s.\n`);
    assert.equal(await new KeyResolver({ store }).resolve(key), undefined);
    const after = await cli('keys', 'list', '--tenant', 'acme');
    assert.deepEqual(after.stdout.trimEnd().split('\n')[1]?.split(/\s+/).slice(0, 4), [prefix, 'acme', 'ci', 'revoked']);
  });

  it('rotates a key given in full, printing the new key last; both work during the grace', async () => {
    const { key: oldKey } = await store.create({ tenant: 'rotating' });
    const rotated = await cli('keys', 'rotate', oldKey, '--grace', '1h');
    assert.equal(rotated.code, 0, rotated.stderr);
    const newKey = rotated.stdout.trimEnd().split('\n').at(-1)!;
    assert.match(newKey, /^bw_live_[0-9A-Za-z]{43}$/);
    assert.notEqual(newKey, oldKey);
    assert.match(rotated.stderr, new RegExp(`^Rotated ${oldKey.slice(0, 12)}: it keeps working until `));
    const resolver = new KeyResolver({ store });
    assert.equal((await resolver.resolve(oldKey))?.tenant, 'rotating');
    assert.equal((await resolver.resolve(newKey))?.tenant, 'rotating');
    const old = await store.getByHash(hashKey(oldKey));
    assert.ok(old?.expiresAt !== undefined && Math.abs(old.expiresAt - (Date.now() + 3_600_000)) < 60_000);
  });

  it("refuses to create a key for a tenant the gateway's config lacks (it would be 401 forever), storing nothing", async () => {
    const before = (await store.list()).length;
    const refused = await cli('keys', 'create', '--tenant', 'acme-typo');
    assert.equal(refused.code, 2);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, new RegExp(`^error: tenant "acme-typo" is not in ${CONFIG_PATH} \\(tenants there: "acme", "rotating"\\)`));
    assert.equal((await store.list()).length, before);

    const otherConfig = await cli('keys', 'create', '--tenant', 'acme', '--config', 'no/such/config.json');
    assert.equal(otherConfig.code, 2);
    assert.match(otherConfig.stderr, /cannot read no\/such\/config\.json/);
  });

  it("rotate gives the new key the old key's expiry", async () => {
    const { key: oldKey, record } = await store.create({ tenant: 'rotating', expiresInSeconds: 7 * 86_400 });
    const rotated = await cli('keys', 'rotate', oldKey, '--grace', '0');
    assert.equal(rotated.code, 0, rotated.stderr);
    const newKey = rotated.stdout.trimEnd().split('\n').at(-1)!;
    assert.equal((await store.getByHash(hashKey(newKey)))?.expiresAt, record.expiresAt);
    assert.match(rotated.stderr, new RegExp(`expires ${new Date(record.expiresAt!).toISOString().slice(0, 19)}Z`));
  });

  it('exits 2 on bad usage and 1 when the key is unknown, without printing any key', async () => {
    const usage = await cli('keys', 'create');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^error: keys create needs --tenant\n/);
    assert.equal(usage.stdout, '');
    const unknown = await cli('keys', 'revoke', 'bw_live_Nope');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'error: no key starting with bw_live_Nope\n');
  });

  it('names the table when it does not exist', async () => {
    const missing = await cli('keys', 'list', '--table', 'no-such-table');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`^error: table "no-such-table" at ${dynamo.endpoint} does not exist`));
  });
});
