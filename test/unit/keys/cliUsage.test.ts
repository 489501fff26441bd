import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT_CODES, runCli } from '../../../bin/cli/runCli';
import { storeTarget } from '../../../bin/cli/openKeyStore';

/** Runs the CLI in-process with a store that must not be opened: bad usage never touches it. */
async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  let opened = 0;
  const code = await runCli(argv, {
    env: {},
    io: { out: (line) => out.push(line), err: (line) => err.push(line) },
    storeFor: () => {
      opened += 1;
      throw new Error('the store must not be opened');
    },
  });
  return { code, out: out.join('\n'), err: err.join('\n'), opened };
}

describe('breakwater CLI usage', () => {
  const badUsage: Array<[string[], string]> = [
    [[], 'Usage: breakwater <command>'],
    [['tokens'], 'error: unknown command "tokens"'],
    [['keys'], 'error: missing subcommand'],
    [['keys', 'delete'], 'error: unknown subcommand "keys delete"'],
    [['keys', 'create'], 'error: keys create needs --tenant'],
    [['keys', 'create', '--tenant'], "error: Option '--tenant <value>' argument missing"],
    [['keys', 'create', '--tenant', 'acme', '--colour', 'red'], "error: Unknown option '--colour'"],
    [['keys', 'create', '--tenant', 'acme', '--expires-in', '30'], 'error: --expires-in "30" is not a duration'],
    [['keys', 'create', '--tenant', 'acme', '--expires-in', '0'], 'error: --expires-in "0" is not a duration'],
    [['keys', 'create', '--tenant', 'acme', '--policy', '{'], 'error: --policy is not valid JSON'],
    [['keys', 'create', '--tenant', 'acme', '--policy', '{"rpm_limit":-1}'], 'error: --policy is not a valid key policy'],
    [['keys', 'create', '--tenant', 'acme', 'bw_live_pasted'], 'error: keys create takes no positional arguments'],
    [['keys', 'create', '--tenant', 'nobody'], 'error: tenant "nobody" is not in breakwater.config.json (tenants there: "demo")'],
    [['keys', 'create', '--tenant', 'demo', '--config', 'missing.json'], "error: the tenant cannot be checked against the gateway's config"],
    [['keys', 'revoke'], 'error: keys revoke needs exactly one key or display prefix'],
    [['keys', 'rotate', 'bw_live_AbCd'], 'error: keys rotate needs --grace'],
    [['keys', 'rotate', 'bw_live_AbCd', '--grace', 'soon'], 'error: --grace "soon" is not a duration'],
  ];
  for (const [argv, message] of badUsage) {
    it(`exits 2 for "${argv.join(' ')}" without opening the store`, async () => {
      const result = await run(...argv);
      assert.equal(result.code, EXIT_CODES.USAGE);
      assert.ok(result.err.startsWith(message), result.err);
      assert.equal(result.out, '');
      assert.equal(result.opened, 0);
    });
  }

  it('prints help on stdout with exit 0', async () => {
    const main = await run('--help');
    assert.equal(main.code, 0);
    assert.match(main.out, /^Usage: breakwater <command>/);
    const keys = await run('keys', 'create', '--help');
    assert.equal(keys.code, 0);
    assert.match(keys.out, /breakwater keys rotate <key or display prefix> --grace <1h>/);
    assert.equal(keys.opened, 0);
  });

  it('exits 1 with the error when the operation fails', async () => {
    const result = await run('keys', 'list');
    assert.equal(result.code, EXIT_CODES.FAILED);
    assert.equal(result.err, 'error: Error on table "breakwater-keys" at AWS: the store must not be opened');
    assert.equal(result.opened, 1);
  });

  it('takes the table from --table, else BREAKWATER_TABLE_KEYS, else the local name, and the endpoint from the env', () => {
    assert.deepEqual(storeTarget({}), { tableName: 'breakwater-keys' });
    assert.deepEqual(storeTarget({ BREAKWATER_TABLE_KEYS: 'prod-keys', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000' }), {
      tableName: 'prod-keys',
      endpoint: 'http://127.0.0.1:8000',
    });
    assert.deepEqual(storeTarget({ BREAKWATER_TABLE_KEYS: 'prod-keys' }, 'other'), { tableName: 'other' });
  });
});
