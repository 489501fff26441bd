import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { gatewayTimeouts, readDeadlineSettings } from '../../lib/gatewayTimeouts.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_GATEWAY_ENTRY, DEFAULT_WORKER_ENTRY } from '../../lib/paths.js';
import {
  buildStacks,
  cdkJsonContext,
  gatewayFunction,
  liveAliasId,
  onlyResource,
  synth as synthStack,
  useScratch,
  workerFunction,
  writeConfig,
  type CfnTemplate,
  type SynthProps,
} from './synthStack.js';

const scratch = useScratch();

function synth(props: SynthProps = {}): { template: Template; json: CfnTemplate } {
  return synthStack(scratch, props);
}

/** Maps each AWS::ApiGateway::Resource logical id to its full path ("/v1/models"). */
function resourcePaths(json: CfnTemplate): Map<string, string> {
  const resources = Object.entries(json.Resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Resource');
  const byId = new Map(resources.map(([id, r]) => [id, r.Properties ?? {}]));
  const paths = new Map<string, string>();
  const pathOf = (id: string): string => {
    const cached = paths.get(id);
    if (cached !== undefined) return cached;
    const props = byId.get(id);
    assert.ok(props, `unknown resource ${id}`);
    const parent = props['ParentId'] as { Ref?: string } | undefined;
    const prefix = parent && typeof parent.Ref === 'string' ? pathOf(parent.Ref) : '';
    const full = `${prefix}/${String(props['PathPart'])}`;
    paths.set(id, full);
    return full;
  };
  for (const id of byId.keys()) pathOf(id);
  return paths;
}

/** Every method as "VERB /path" -> properties. The root resource is "/". */
function methods(json: CfnTemplate): Map<string, Record<string, unknown>> {
  const paths = resourcePaths(json);
  const out = new Map<string, Record<string, unknown>>();
  for (const [, r] of Object.entries(json.Resources)) {
    if (r.Type !== 'AWS::ApiGateway::Method') continue;
    const props = r.Properties ?? {};
    const resourceId = props['ResourceId'] as { Ref?: string } | Record<string, unknown>;
    const path = typeof resourceId['Ref'] === 'string' ? paths.get(resourceId['Ref']) : '/';
    assert.ok(path, 'method attached to an unknown resource');
    out.set(`${String(props['HttpMethod'])} ${path}`, props);
  }
  return out;
}

/** A valid config with its own deadline settings. */
function configWithSettings(settings: Record<string, number>) {
  return {
    providers: { sim: { type: 'simulated' } },
    routes: { default: { provider: 'sim' } },
    tenants: { solo: { route: 'default' } },
    settings,
  };
}

type StreamingIntegration = { Type?: string; ResponseTransferMode?: string; TimeoutInMillis?: number; Uri?: unknown };

/** The gateway function's timeout in ms and every method's integration. */
function timeoutsOf(json: CfnTemplate): { functionMs: number; integrations: Map<string, StreamingIntegration> } {
  const [, fn] = gatewayFunction(json);
  const integrations = new Map([...methods(json)].map(([route, m]) => [route, m['Integration'] as StreamingIntegration]));
  return { functionMs: (fn.Properties?.['Timeout'] as number) * 1_000, integrations };
}

describe('GatewayStack', () => {
  describe('gateway function', () => {
    it('runs Node 24 on arm64 with X-Ray active tracing, a 5 min 30 s timeout and 512 MB', () => {
      const { template, json } = synth({ configPath: writeConfig(scratch, 'defaults.json', configWithSettings({})) });
      // The gateway and the task worker; no custom-resource functions sneak in.
      template.resourceCountIs('AWS::Lambda::Function', 2);
      gatewayFunction(json);
      workerFunction(json);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        // max_request_ms 300 000 + lambda_margin_ms 1 000 + 29 s of headroom.
        Timeout: 330,
        MemorySize: 512,
        Handler: 'index.handler',
      });
    });

    it('sets the Powertools and config environment variables, source-mapped traces off by default', () => {
      const { template } = synth();
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: 'breakwater-gateway',
            POWERTOOLS_LOG_LEVEL: 'INFO',
            BREAKWATER_CONFIG: '/var/task/breakwater.config.json',
            // Opt-in (`sourceMapStackTraces`): ~20 ms of every cold start.
            NODE_OPTIONS: Match.absent(),
          }),
        },
      });
    });

    it('logs to an explicitly created log group with one-month retention', () => {
      const { template, json } = synth();
      const [functionId, fn] = gatewayFunction(json);
      const logGroupRef = (fn.Properties?.['LoggingConfig'] as { LogGroup?: unknown } | undefined)?.LogGroup;
      assert.ok(logGroupRef, `${functionId} has no LoggingConfig.LogGroup`);
      const logGroupId = (logGroupRef as { Ref?: string }).Ref;
      assert.equal(typeof logGroupId, 'string', 'LoggingConfig.LogGroup should Ref a log group in this stack');
      assert.equal(json.Resources[logGroupId!]?.Type, 'AWS::Logs::LogGroup');
      assert.equal(json.Resources[logGroupId!]?.Properties?.['RetentionInDays'], 30);
      // Only the two functions' log groups and the API access log group.
      template.resourceCountIs('AWS::Logs::LogGroup', 3);
    });

    it("grants the function's role X-Ray write permissions", () => {
      const { json } = synth();
      const [, fn] = gatewayFunction(json);
      const roleId = ((fn.Properties?.['Role'] as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'] ?? [])[0];
      assert.ok(roleId, 'function role should be a role defined in this stack');
      assert.equal(json.Resources[roleId]?.Type, 'AWS::IAM::Role');

      const xrayActions = new Set<string>();
      for (const r of Object.values(json.Resources)) {
        if (r.Type !== 'AWS::IAM::Policy') continue;
        const roles = (r.Properties?.['Roles'] ?? []) as { Ref?: string }[];
        if (!roles.some((role) => role.Ref === roleId)) continue;
        const statements = (r.Properties?.['PolicyDocument'] as { Statement: { Effect: string; Action: string | string[] }[] })
          .Statement;
        for (const s of statements) {
          if (s.Effect !== 'Allow') continue;
          for (const a of [s.Action].flat()) if (a.startsWith('xray:')) xrayActions.add(a);
        }
      }
      assert.ok(xrayActions.has('xray:PutTraceSegments'), `X-Ray actions on the role: ${[...xrayActions].join(', ')}`);
      assert.ok(xrayActions.has('xray:PutTelemetryRecords'), `X-Ray actions on the role: ${[...xrayActions].join(', ')}`);
    });
  });

  describe('REST API', () => {
    it('deploys a prod stage with X-Ray tracing, metrics, throttling and access logs', () => {
      const { template } = synth();
      template.resourceCountIs('AWS::ApiGateway::Stage', 1);
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        StageName: 'prod',
        TracingEnabled: true,
        AccessLogSetting: {
          DestinationArn: Match.anyValue(),
          Format: Match.stringLikeRegexp('\\$context\\.requestId'),
        },
        MethodSettings: Match.arrayWith([
          Match.objectLike({
            HttpMethod: '*',
            ResourcePath: '/*',
            MetricsEnabled: true,
            DataTraceEnabled: false,
            ThrottlingRateLimit: 100,
            ThrottlingBurstLimit: 200,
          }),
        ]),
      });
    });

    it('honours throttling overrides', () => {
      const { template } = synth({ throttlingRateLimit: 7, throttlingBurstLimit: 9 });
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        MethodSettings: Match.arrayWith([
          Match.objectLike({ ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 }),
        ]),
      });
    });

    it('passes uploads of binary media types to the function base64-encoded, never JSON or text', () => {
      const { json } = synth();
      const [, api] = onlyResource(json, 'AWS::ApiGateway::RestApi');
      assert.deepEqual(api.Properties?.['BinaryMediaTypes'], [
        'application/octet-stream',
        'multipart/form-data',
        'application/pdf',
        'application/zip',
        'image/*',
        'audio/*',
        'video/*',
      ]);
    });

    it('leaves payload compression off', () => {
      const { json } = synth();
      const [, api] = onlyResource(json, 'AWS::ApiGateway::RestApi');
      assert.equal(api.Properties?.['MinimumCompressionSize'], undefined);
    });

    for (const route of [
      'POST /v1/chat/completions',
      'POST /v1/embeddings',
      'GET /v1/models',
      'GET /health',
      'POST /v1/tasks',
      'GET /v1/tasks/{id}',
      'DELETE /v1/tasks/{id}',
      'POST /v1/responses',
      'GET /v1/responses/{id}',
      'DELETE /v1/responses/{id}',
    ]) {
      it(`routes ${route} to the function's live alias through a Lambda proxy integration`, () => {
        const { json } = synth();
        const aliasId = liveAliasId(json, gatewayFunction(json)[0]);
        const method = methods(json).get(route);
        assert.ok(method, `no method ${route}; have: ${[...methods(json).keys()].sort().join(', ')}`);
        const integration = method['Integration'] as { Type?: string; IntegrationHttpMethod?: string; Uri?: unknown };
        assert.equal(integration.Type, 'AWS_PROXY');
        assert.equal(integration.IntegrationHttpMethod, 'POST');
        assert.match(JSON.stringify(integration.Uri), new RegExp(`\\{"Ref":"${aliasId}"\\}`));
      });
    }

    it('streams every method: STREAM transfer mode, invoked through InvokeWithResponseStream', () => {
      const { json } = synth();
      const aliasId = liveAliasId(json, gatewayFunction(json)[0]);
      const { integrations } = timeoutsOf(json);
      assert.ok(integrations.size >= 7, `only ${integrations.size} methods`);
      for (const [route, integration] of integrations) {
        assert.equal(integration.Type, 'AWS_PROXY', route);
        assert.equal(integration.ResponseTransferMode, 'STREAM', route);
        // The InvokeWithResponseStream path, not the buffered 2015-03-31/.../invocations one.
        const uri = JSON.stringify(integration.Uri);
        assert.match(uri, /:lambda:path\/2021-11-15\/functions\//, route);
        assert.match(uri, new RegExp(`\\{"Ref":"${aliasId}"\\},"/response-streaming-invocations"`), route);
        assert.doesNotMatch(uri, /2015-03-31/, route);
      }
    });

    it('times out past the request deadline: integration >= function > max_request_ms + lambda_margin_ms', () => {
      const { json } = synth();
      const settings = readDeadlineSettings(DEFAULT_CONFIG_PATH);
      const { functionMs, integrations } = timeoutsOf(json);
      assert.equal(functionMs, gatewayTimeouts(settings).functionTimeoutMs);
      assert.ok(functionMs > settings.max_request_ms + settings.lambda_margin_ms, `${functionMs} ms`);
      assert.ok(functionMs <= 900_000, `${functionMs} ms is over Lambda's 15 minutes`);
      for (const [route, integration] of integrations) {
        const timeout = integration.TimeoutInMillis ?? 29_000;
        assert.ok(timeout >= functionMs, `${route}: integration ${timeout} ms < function ${functionMs} ms`);
        assert.ok(timeout <= 900_000, `${route}: ${timeout} ms is over the streaming integration's 15 minutes`);
      }
    });

    it("derives both timeouts from the bundled config's settings", () => {
      const configPath = writeConfig(scratch, 'long.json', configWithSettings({ max_request_ms: 600_000, lambda_margin_ms: 2_000 }));
      const { functionMs, integrations } = timeoutsOf(synth({ configPath }).json);
      assert.equal(functionMs, 631_000); // 600 s + 2 s + 29 s
      for (const [route, integration] of integrations) assert.equal(integration.TimeoutInMillis, 636_000, route);
    });

    it('follows a gatewayTimeout override, the integrations never shorter', () => {
      const { functionMs, integrations } = timeoutsOf(synth({ gatewayTimeout: Duration.minutes(10) }).json);
      assert.equal(functionMs, 600_000);
      for (const [route, integration] of integrations) assert.ok(integration.TimeoutInMillis! >= 600_000, route);
    });

    it("refuses a max_request_ms that would take the function past Lambda's 15 minutes", () => {
      const configPath = writeConfig(scratch, 'too-long.json', configWithSettings({ max_request_ms: 890_000 }));
      assert.throws(() => synth({ configPath }), /over Lambda's 15 minutes: lower max_request_ms/);
    });

    it('sends unknown paths and methods to the function (root and {proxy+} ANY)', () => {
      const { json } = synth();
      const all = methods(json);
      for (const route of ['ANY /', 'ANY /{proxy+}', 'ANY /v1/chat/completions', 'ANY /health']) {
        const method = all.get(route);
        assert.ok(method, `no method ${route}`);
        assert.equal((method['Integration'] as { Type?: string }).Type, 'AWS_PROXY', route);
      }
    });

    it('has no API Gateway authorizer: Authorization reaches the function', () => {
      const { template, json } = synth();
      template.resourceCountIs('AWS::ApiGateway::Authorizer', 0);
      for (const [route, method] of methods(json)) {
        assert.equal(method['AuthorizationType'], 'NONE', route);
        assert.notEqual(method['ApiKeyRequired'], true, route);
      }
    });

    it("lets API Gateway invoke the function's live alias, and nothing else", () => {
      const { template, json } = synth();
      const aliasId = liveAliasId(json, gatewayFunction(json)[0]);
      template.resourceCountIs('AWS::Lambda::Permission', 1);
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { Ref: aliasId },
      });
    });

    it('returns API Gateway-generated errors in the OpenAI error shape', () => {
      const { template } = synth();
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'MISSING_AUTHENTICATION_TOKEN',
        StatusCode: '404',
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"error":\\{"message"') },
      });
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'DEFAULT_5XX' });
    });
  });

  describe('outputs', () => {
    it('exports the API URL and the function name', () => {
      const { template, json } = synth();
      const [functionId] = gatewayFunction(json);
      const [stageId] = onlyResource(json, 'AWS::ApiGateway::Stage');
      template.hasOutput('GatewayUrl', {
        Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^https://'), { Ref: stageId }])] },
      });
      template.hasOutput('GatewayFunctionName', { Value: { Ref: functionId } });
    });
  });

  describe('bundling', () => {
    it('refuses to synthesize with bundling when the routing config is missing', () => {
      const app = new App({ context: cdkJsonContext(), outdir: mkdtempSync(join(scratch.dir, 'cdk.out-')) });
      assert.throws(() => buildStacks(app, scratch, { configPath: join(scratch.dir, 'nope.json') }), /routing config not found at .*nope\.json/);
    });

    it('ships breakwater.config.json next to the ESM bundle (real esbuild run)', (t: TestContext) => {
      if (!existsSync(DEFAULT_GATEWAY_ENTRY) || !existsSync(DEFAULT_CONFIG_PATH)) {
        t.skip('functions/gateway/handler.ts or breakwater.config.json not present yet');
        return;
      }
      const outdir = mkdtempSync(join(scratch.dir, 'cdk.out-'));
      const app = new App({ context: cdkJsonContext(), outdir });
      // Only the gateway is bundled here: the worker's bundle is the same recipe (see worker tests).
      const { gateway } = buildStacks(app, scratch, {
        entry: DEFAULT_GATEWAY_ENTRY,
        workerEntry: existsSync(DEFAULT_WORKER_ENTRY) ? DEFAULT_WORKER_ENTRY : scratch.workerEntry,
      });
      const json = Template.fromStack(gateway).toJSON() as CfnTemplate;
      const [, fn] = gatewayFunction(json);
      const key = String((fn.Properties?.['Code'] as { S3Key: unknown }).S3Key);
      const assetDir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
      const files = readdirSync(assetDir).sort();
      assert.ok(files.includes('index.mjs'), `bundle files: ${files.join(', ')}`);
      assert.ok(files.includes('index.mjs.map'), `bundle files: ${files.join(', ')}`);
      assert.ok(files.includes('breakwater.config.json'), `bundle files: ${files.join(', ')}`);
      assert.deepEqual(
        JSON.parse(readFileSync(join(assetDir, 'breakwater.config.json'), 'utf8')),
        JSON.parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')),
      );
      assert.match(readFileSync(join(assetDir, 'index.mjs'), 'utf8'), /createRequire\(import\.meta\.url\)/);
    });
  });
});
