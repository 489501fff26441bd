import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configNeeds, readConfigNeeds } from '../../lib/configNeeds.js';
import { DEFAULT_CONFIG_PATH } from '../../lib/paths.js';
import {
  actionsOf,
  actionsOnResource,
  assertOnlyFunctionRolesTouch,
  environmentOf,
  gatewayFunction,
  gatewayRoleId,
  referencedIds,
  resourcesOf,
  resourcesOfType,
  roleIdOf,
  statementsOfRole,
  synth,
  useSynthesizedStack,
  workerFunction,
  workerRoleId,
  writeConfig,
  type CfnTemplate,
} from './synthStack.js';

/** Named and inline providers of every kind, nested groups, and a tenant bringing its own key. */
const MIXED_CONFIG = {
  providers: {
    'openai-main': { type: 'openai', credential: 'openai-prod' },
    claude: { type: 'anthropic', credential: 'anthropic' },
    'openai-nokey': { type: 'openai' },
    aws: { type: 'bedrock', region: 'us-east-1' },
    sim: { type: 'simulated' },
  },
  routes: {
    default: {
      strategy: { mode: 'fallback' },
      targets: [
        { provider: 'openai-main', override_params: { model: 'gpt-4o-mini' } },
        {
          strategy: { mode: 'loadbalance' },
          targets: [
            // Portkey inline targets: the type as provider, credential named or defaulted to the type.
            { provider: 'openai', custom_host: 'https://azure.example/v1', credential: 'azure-openai' },
            { provider: 'anthropic' },
            { provider: 'sim' },
          ],
        },
      ],
    },
    cheap: { provider: 'sim' },
  },
  tenants: {
    acme: { route: 'default', keys: ['bw_test_acme_key_000001_xxxxxxxx'], credential_overrides: { 'openai-main': 'byok/acme-openai' } },
    'beta.co': { route: 'cheap' },
  },
};

const NO_BEDROCK_CONFIG = {
  providers: { sim: { type: 'simulated' } },
  routes: { default: { provider: 'sim' } },
  tenants: { solo: { route: 'default' } },
};

const INLINE_BEDROCK_CONFIG = {
  routes: { default: { provider: 'bedrock', override_params: { model: 'anthropic.claude-3-haiku' } } },
  tenants: { solo: { route: 'default' } },
};

describe('configNeeds', () => {
  it('collects named, inline and bring-your-own-key credentials; never bedrock or simulated', () => {
    assert.deepEqual(configNeeds(MIXED_CONFIG), {
      credentials: ['anthropic', 'azure-openai', 'byok/acme-openai', 'openai-prod'],
      bedrock: true,
      tenants: ['acme', 'beta.co'],
      userConnections: false,
    });
  });

  it('sees an inline bedrock target too', () => {
    assert.deepEqual(configNeeds(INLINE_BEDROCK_CONFIG), { credentials: [], bedrock: true, tenants: ['solo'], userConnections: false });
    assert.deepEqual(configNeeds(NO_BEDROCK_CONFIG), { credentials: [], bedrock: false, tenants: ['solo'], userConnections: false });
  });

  it("adds tool services' and MCP servers' secrets, and the token key when users connect", () => {
    const needs = configNeeds({
      ...NO_BEDROCK_CONFIG,
      services: {
        crm: { base_url: 'https://crm.example/api', auth: { type: 'api_key', secret: 'tools/crm' } },
        calendar: {
          base_url: 'https://calendar.example',
          auth: { type: 'oauth_user', secret: 'tools/calendar-app', authorize_url: 'https://auth.example/a', token_url: 'https://auth.example/t' },
        },
        internal: { base_url: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod', auth: { type: 'sigv4', service: 'execute-api' } },
      },
      mcp_servers: { files: { url: 'https://files.example/mcp', auth: { type: 'bearer', secret: 'mcp/files' } } },
    });
    assert.deepEqual(needs, {
      credentials: ['mcp/files', 'tools/calendar-app', 'tools/crm'],
      bedrock: false,
      tenants: ['solo'],
      userConnections: true,
    });
  });

  it('reads the repo config', () => {
    const needs = readConfigNeeds(DEFAULT_CONFIG_PATH);
    const raw = JSON.parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as { providers: Record<string, { credential?: string }> };
    const named = Object.values(raw.providers).flatMap((p) => (p.credential ? [p.credential] : []));
    for (const credential of named) assert.ok(needs.credentials.includes(credential), credential);
    assert.ok(needs.credentials.includes('openai'));
    assert.ok(needs.credentials.includes('anthropic'));
  });

  it('fails synthesis on a config the gateway would refuse', () => {
    assert.throws(() => configNeeds({ routes: { default: { provider: 'nope' } }, tenants: {} }), /unknown provider "nope"/);
  });
});

const stack = useSynthesizedStack((scratch) => ({ configPath: writeConfig(scratch, 'mixed.json', MIXED_CONFIG) }));
const { scratch } = stack;

function secretsByName(template: CfnTemplate): Map<string, [string, CfnTemplate['Resources'][string]]> {
  return new Map(
    resourcesOfType(template, 'AWS::SecretsManager::Secret').map(([id, r]) => [String(r.Properties?.['Name']), [id, r]]),
  );
}

const CREDENTIALS = ['anthropic', 'azure-openai', 'byok/acme-openai', 'openai-prod'];

describe('provider secrets', () => {
  it('creates one secret per configured credential, named breakwater/<credential>, plus one signing secret per tenant', () => {
    assert.deepEqual(
      [...secretsByName(stack.json).keys()].sort(),
      [
        ...CREDENTIALS.map((c) => `breakwater/${c}`),
        'breakwater/callback-signing/acme',
        'breakwater/callback-signing/beta.co',
      ].sort(),
    );
  });

  it('creates credential secrets without a usable value (no api_key) and retains them', () => {
    for (const credential of CREDENTIALS) {
      const [, secret] = secretsByName(stack.json).get(`breakwater/${credential}`)!;
      assert.equal(secret.Properties?.['SecretString'], undefined, credential);
      assert.deepEqual(secret.Properties?.['GenerateSecretString'], {
        ExcludePunctuation: true,
        GenerateStringKey: 'placeholder',
        SecretStringTemplate: '{}',
      });
      assert.match(String(secret.Properties?.['Description']), /aws secretsmanager put-secret-value --secret-id breakwater\//);
      assert.equal(secret.DeletionPolicy, 'Retain', credential);
    }
  });

  it('generates a 64-character signing_secret for each tenant, and retains it', () => {
    const [, secret] = secretsByName(stack.json).get('breakwater/callback-signing/acme')!;
    assert.deepEqual(secret.Properties?.['GenerateSecretString'], {
      ExcludePunctuation: true,
      GenerateStringKey: 'signing_secret',
      PasswordLength: 64,
      SecretStringTemplate: '{}',
    });
    // Tenants' receivers hold it, and a deleted secret's name would block the next deploy.
    assert.equal(secret.DeletionPolicy, 'Retain');
  });

  it('grants read on every credential secret to the gateway and the worker', () => {
    const gatewayRole = gatewayRoleId(stack.json);
    const workerRole = workerRoleId(stack.json);
    for (const credential of CREDENTIALS) {
      const [secretId] = secretsByName(stack.json).get(`breakwater/${credential}`)!;
      const read = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];
      assert.deepEqual(actionsOnResource(stack.json, gatewayRole, secretId), read, `gateway → ${credential}`);
      assert.deepEqual(actionsOnResource(stack.json, workerRole, secretId), read, `worker → ${credential}`);
    }
  });

  it('grants no other role in the stack access to any secret', () => {
    const secretIds = new Set([...secretsByName(stack.json).values()].map(([id]) => id));
    const touchesSecrets = (document: unknown) =>
      [...referencedIds(document)].some((id) => secretIds.has(id)) || JSON.stringify(document).includes('secretsmanager');
    assertOnlyFunctionRolesTouch(stack.json, touchesSecrets, 'a secret');
  });

  it('lets only the worker read callback signing secrets, by name prefix', () => {
    const prefixStatement = (roleId: string) =>
      statementsOfRole(stack.json, roleId).filter((s) => JSON.stringify(s.Resource).includes(':secret:breakwater/callback-signing/*'));
    const worker = prefixStatement(workerRoleId(stack.json));
    assert.equal(worker.length, 1);
    assert.deepEqual(actionsOf(worker[0]!).sort(), ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    assert.deepEqual(prefixStatement(gatewayRoleId(stack.json)), []);
    // Nor does the gateway hold the generated tenant secrets themselves.
    const [signingId] = secretsByName(stack.json).get('breakwater/callback-signing/acme')!;
    assert.deepEqual(actionsOnResource(stack.json, gatewayRoleId(stack.json), signingId), []);
  });

  it('tells both functions the secret prefix', () => {
    for (const [, fn] of [gatewayFunction(stack.json), workerFunction(stack.json)]) {
      assert.equal(environmentOf(fn)['BREAKWATER_SECRET_PREFIX'], 'breakwater/');
    }
    assert.equal(stack.json.Outputs?.['SecretPrefix']?.Value, 'breakwater/');
  });

  it('honours a custom secret prefix', () => {
    const custom = synth(scratch, {
      configPath: writeConfig(scratch, 'mixed-prefix.json', MIXED_CONFIG),
      secretPrefix: 'staging/bw/',
    }).json;
    assert.ok(secretsByName(custom).has('staging/bw/openai-prod'));
    assert.ok(secretsByName(custom).has('staging/bw/callback-signing/acme'));
    assert.equal(environmentOf(gatewayFunction(custom)[1])['BREAKWATER_SECRET_PREFIX'], 'staging/bw/');
  });

  it('creates the repo config’s secrets: openai and anthropic', () => {
    const repo = synth(scratch).json;
    assert.deepEqual(
      [...secretsByName(repo).keys()].filter((n) => !n.includes('callback-signing')).sort(),
      ['breakwater/anthropic', 'breakwater/openai'],
    );
  });
});

describe('bedrock access', () => {
  const bedrockStatements = (template: CfnTemplate, roleId: string) =>
    statementsOfRole(template, roleId).filter((s) => actionsOf(s).some((a) => a.startsWith('bedrock:')));

  const bedrockConfig = (targets: unknown[], region?: string) => ({
    providers: { aws: { type: 'bedrock', ...(region ? { region } : {}) } },
    routes: { default: { strategy: { mode: 'fallback' }, targets } },
    tenants: { solo: { route: 'default' } },
  });
  /** The Bedrock statement of each function's role, with its resources as the template renders them. */
  const bedrockGrants = (config: unknown, name: string) => {
    const { json } = synth(scratch, { configPath: writeConfig(scratch, name, config) });
    return [gatewayFunction(json), workerFunction(json)].map(([, fn]) => {
      const statements = bedrockStatements(json, roleIdOf(fn));
      assert.equal(statements.length, 1);
      assert.deepEqual(actionsOf(statements[0]!), ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream']);
      return resourcesOf(statements[0]!).map((resource) => JSON.stringify(resource));
    });
  };

  it('grants Converse and ConverseStream on every model only when a bedrock target passes the client\'s model through', () => {
    for (const resources of bedrockGrants(bedrockConfig([{ provider: 'aws' }]), 'passthrough.json')) {
      assert.equal(resources.length, 3);
      assert.match(resources.join(), /:bedrock:\*::foundation-model\/\*/);
      assert.match(resources.join(), /:bedrock:\*:",\{"Ref":"AWS::AccountId"\},":inference-profile\/\*/);
      assert.ok(!resources.includes('"*"'));
    }
  });

  it('scopes the grant to the named models: foundation-model ARNs in the target region, else the function\'s', () => {
    const config = bedrockConfig([
      { provider: 'aws', override_params: { model: 'anthropic.claude-3-haiku-20240307-v1:0' } },
      { provider: 'bedrock', override_params: { model: 'amazon.nova-lite-v1:0' } },
    ], 'eu-west-1');
    for (const resources of bedrockGrants(config, 'scoped.json')) {
      assert.equal(resources.length, 2);
      assert.ok(resources.some((r) => r.includes(':bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0')), resources.join());
      assert.ok(resources.some((r) => /:bedrock:",\{"Ref":"AWS::Region"\},"::foundation-model\/amazon\.nova-lite-v1:0/.test(r)), resources.join());
      assert.ok(resources.every((r) => !r.includes('*')), resources.join());
    }
  });

  it('scopes an inference profile (us.…) to the profile in its region and its model in any region', () => {
    const config = bedrockConfig([{ provider: 'aws', override_params: { model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0' } }], 'us-east-1');
    for (const resources of bedrockGrants(config, 'profile.json')) {
      assert.equal(resources.length, 2);
      assert.ok(resources.some((r) => r.includes(':bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0')), resources.join());
      assert.ok(resources.some((r) => /:bedrock:us-east-1:",\{"Ref":"AWS::AccountId"\},":inference-profile\/us\.anthropic\.claude-3-5-haiku-20241022-v1:0/.test(r)), resources.join());
    }
  });

  it('grants nothing on Bedrock for a bedrock provider no route reaches', () => {
    const { json } = synth(scratch, { configPath: writeConfig(scratch, 'unrouted.json', MIXED_CONFIG) });
    for (const [, fn] of [gatewayFunction(json), workerFunction(json)]) assert.deepEqual(bedrockStatements(json, roleIdOf(fn)), []);
  });

  it('grants nothing on Bedrock when the config has no bedrock provider', () => {
    const plain = synth(scratch, { configPath: writeConfig(scratch, 'plain.json', NO_BEDROCK_CONFIG) }).json;
    for (const [, fn] of [gatewayFunction(plain), workerFunction(plain)]) {
      assert.deepEqual(bedrockStatements(plain, roleIdOf(fn)), []);
    }
    assert.deepEqual(
      [...secretsByName(plain).keys()],
      ['breakwater/callback-signing/solo'],
      'no credential secrets, one tenant signing secret',
    );
  });

  it('grants it for an inline bedrock target', () => {
    const inline = synth(scratch, { configPath: writeConfig(scratch, 'inline.json', INLINE_BEDROCK_CONFIG) }).json;
    assert.equal(bedrockStatements(inline, gatewayRoleId(inline)).length, 1);
  });
});

describe('tool proxy secrets', () => {
  const TOOLS_CONFIG = {
    routes: { default: { provider: 'sim' } },
    providers: { sim: { type: 'simulated' } },
    services: {
      crm: { base_url: 'https://crm.example/api', auth: { type: 'api_key', secret: 'tools/crm' } },
      calendar: {
        base_url: 'https://calendar.example',
        auth: { type: 'oauth_user', secret: 'tools/calendar-app', authorize_url: 'https://auth.example/a', token_url: 'https://auth.example/t' },
      },
    },
    tenants: { solo: { route: 'default' } },
  };

  it("creates each service's secret and the token data key; only the gateway reads the data key", () => {
    const { json } = synth(scratch, { configPath: writeConfig(scratch, 'tools.json', TOOLS_CONFIG) });
    const secrets = secretsByName(json);
    for (const name of ['breakwater/tools/crm', 'breakwater/tools/calendar-app']) {
      const [secretId] = secrets.get(name)!;
      assert.deepEqual(actionsOnResource(json, gatewayRoleId(json), secretId), ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], name);
    }
    const [keyId, key] = secrets.get('breakwater/tool-token-key')!;
    assert.deepEqual(key.Properties?.['GenerateSecretString'], {
      ExcludePunctuation: true,
      GenerateStringKey: 'key',
      PasswordLength: 64,
      SecretStringTemplate: '{"key_id":"v1"}',
    });
    assert.equal(key.DeletionPolicy, 'Retain', 'losing it would lose every connection');
    assert.deepEqual(actionsOnResource(json, gatewayRoleId(json), keyId), ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    assert.deepEqual(actionsOnResource(json, workerRoleId(json), keyId), [], 'the worker never touches user tokens');
  });

  it('creates no token data key when no service connects on behalf of users', () => {
    assert.equal(secretsByName(stack.json).get('breakwater/tool-token-key'), undefined);
  });
});
