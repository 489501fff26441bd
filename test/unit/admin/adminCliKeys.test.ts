import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keysCommand } from '../../../bin/cli/keysCommand';
import type { CreateKeyInput, KeyStore } from '../../../shared/keys';

/** A store that records what `create` was asked for; the DynamoDB store itself is tested elsewhere. */
function recordingStore() {
  const created: CreateKeyInput[] = [];
  const store = {
    async create(input: CreateKeyInput) {
      created.push(input);
      return { key: 'bw_live_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG', record: { hash: 'h', prefix: 'bw_live_0123', tenant: input.tenant, createdAt: 0, policy: input.policy ?? {} } };
    },
  } as unknown as KeyStore;
  return { store, created };
}

const run = async (...args: string[]) => {
  const { store, created } = recordingStore();
  const out: string[] = [];
  const err: string[] = [];
  const code = await keysCommand(args, {
    io: { out: (line) => out.push(line), err: (line) => err.push(line) },
    openStore: () => store,
    configTenants: async () => ({ path: 'breakwater.config.json', tenants: new Set(['demo']) }),
    now: () => 0,
  });
  return { code, created, out, err };
};

describe('admin: `breakwater keys create --admin`', () => {
  it('gives the key the admin role, on top of any --policy', async () => {
    const { code, created, out, err } = await run('create', '--tenant', 'demo', '--admin', '--policy', '{"rpm_limit":60}');
    assert.equal(code, 0);
    assert.deepEqual(created[0]!.policy, { rpm_limit: 60, role: 'admin' });
    assert.match(err[0]!, /^Created admin key bw_live_0123 for tenant "demo"/);
    assert.equal(out.at(-1), 'bw_live_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG');
  });

  it('without --admin the key has no role', async () => {
    const { created } = await run('create', '--tenant', 'demo');
    assert.equal(created[0]!.policy?.role, undefined);
  });
});
