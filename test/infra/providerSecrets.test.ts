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

  it('grants bedrock:InvokeModel on foundation models and inference profiles to both functions', () => {
    for (const [, fn] of [gatewayFunction(stack.json), workerFunction(stack.json)]) {
      const statements = bedrockStatements(stack.json, roleIdOf(fn));
      assert.equal(statements.length, 1);
      assert.deepEqual(actionsOf(statements[0]!), ['bedrock:InvokeModel']);
      const resources = JSON.stringify(statements[0]!.Resource);
      assert.match(resources, /:bedrock:\*::foundation-model\/\*/);
      assert.match(resources, /:inference-profile\/\*/);
      assert.doesNotMatch(resources, /"\*"/);
    }
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
