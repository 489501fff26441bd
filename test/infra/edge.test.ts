import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_METHOD_THROTTLING } from '../../lib/GatewayApi.js';
import { onlyResource, resourcesOfType, synth, useSynthesizedStack, type CfnTemplate } from './synthStack.js';

const stack = useSynthesizedStack();

type Rule = {
  Name: string;
  Priority: number;
  Action?: Record<string, unknown>;
  OverrideAction?: Record<string, unknown>;
  Statement: {
    RateBasedStatement?: { Limit: number; AggregateKeyType: string; EvaluationWindowSec?: number };
    ManagedRuleGroupStatement?: { VendorName: string; Name: string; RuleActionOverrides?: Array<{ Name: string; ActionToUse: Record<string, unknown> }> };
  };
  VisibilityConfig: { CloudWatchMetricsEnabled: boolean; SampledRequestsEnabled: boolean };
};

const rulesOf = (json: CfnTemplate): Rule[] => onlyResource(json, 'AWS::WAFv2::WebACL')[1].Properties?.['Rules'] as Rule[];

describe('WAF web ACL', () => {
  it('is regional, allows by default, and is associated with the API stage', () => {
    const [aclId, acl] = onlyResource(stack.json, 'AWS::WAFv2::WebACL');
    assert.equal(acl.Properties?.['Scope'], 'REGIONAL');
    assert.deepEqual(acl.Properties?.['DefaultAction'], { Allow: {} });
    const [stageId] = onlyResource(stack.json, 'AWS::ApiGateway::Stage');
    const [, association] = onlyResource(stack.json, 'AWS::WAFv2::WebACLAssociation');
    assert.deepEqual(association.Properties?.['WebACLArn'], { 'Fn::GetAtt': [aclId, 'Arn'] });
    assert.match(JSON.stringify(association.Properties?.['ResourceArn']), new RegExp(`/stages/.*\\{"Ref":"${stageId}"\\}`));
  });

  it('blocks an IP above 2000 requests in 5 minutes, before any managed rule', () => {
    const rules = rulesOf(stack.json);
    const rate = rules.find((r) => r.Statement.RateBasedStatement);
    assert.ok(rate, 'a rate-based rule');
    assert.deepEqual(rate.Action, { Block: {} });
    assert.deepEqual(rate.Statement.RateBasedStatement, { Limit: 2000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 });
    assert.equal(Math.min(...rules.map((r) => r.Priority)), rate.Priority);
  });

  it('runs the AWS common rule set with SizeRestrictions_BODY only counted (prompts exceed 8 KB)', () => {
    const common = rulesOf(stack.json).find((r) => r.Statement.ManagedRuleGroupStatement?.Name === 'AWSManagedRulesCommonRuleSet');
    assert.ok(common, 'the common rule set');
    assert.equal(common.Statement.ManagedRuleGroupStatement?.VendorName, 'AWS');
    assert.deepEqual(common.OverrideAction, { None: {} });
    assert.deepEqual(common.Statement.ManagedRuleGroupStatement?.RuleActionOverrides, [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }]);
  });

  it('emits metrics and sampled requests for every rule', () => {
    for (const rule of rulesOf(stack.json)) {
      assert.equal(rule.VisibilityConfig.CloudWatchMetricsEnabled, true, rule.Name);
      assert.equal(rule.VisibilityConfig.SampledRequestsEnabled, true, rule.Name);
    }
  });

  it('takes the rate limit from the props, or leaves the ACL out', () => {
    const custom = synth(stack.scratch, { wafRateLimitPer5Min: 500 }).json;
    assert.equal(rulesOf(custom).find((r) => r.Statement.RateBasedStatement)?.Statement.RateBasedStatement?.Limit, 500);
    const none = synth(stack.scratch, { wafRateLimitPer5Min: false }).json;
    assert.equal(resourcesOfType(none, 'AWS::WAFv2::WebACL').length, 0);
    assert.equal(resourcesOfType(none, 'AWS::WAFv2::WebACLAssociation').length, 0);
  });
});

describe('API stage', () => {
  const methodSettings = (json: CfnTemplate) =>
    onlyResource(json, 'AWS::ApiGateway::Stage')[1].Properties?.['MethodSettings'] as Array<Record<string, unknown>>;

  it('logs execution errors (ERROR, no data trace) for every method', () => {
    const all = methodSettings(stack.json).find((m) => m['ResourcePath'] === '/*' && m['HttpMethod'] === '*');
    assert.ok(all);
    assert.equal(all['LoggingLevel'], 'ERROR');
    assert.equal(all['DataTraceEnabled'], false);
  });

  it('throttles polling, task submission and the health check per method, below the stage', () => {
    const settings = methodSettings(stack.json);
    for (const [route, throttle] of Object.entries(DEFAULT_METHOD_THROTTLING)) {
      const [method, path] = route.split(' ') as [string, string];
      // API Gateway's method setting path: '/' then the resource path with each '/' escaped as '~1'.
      const setting = settings.find((m) => m['HttpMethod'] === method && m['ResourcePath'] === `/${path.replace(/\//g, '~1')}`);
      assert.ok(setting, `no method setting for ${route}: ${JSON.stringify(settings)}`);
      assert.equal(setting['ThrottlingRateLimit'], throttle.rateLimit, route);
      assert.equal(setting['ThrottlingBurstLimit'], throttle.burstLimit, route);
      assert.ok(throttle.rateLimit < 100, `${route} is throttled below the stage's 100 rps`);
    }
  });

  it('refuses throttling for a route the API does not have', () => {
    assert.throws(() => synth(stack.scratch, { methodThrottling: { 'POST /v1/nope': { rateLimit: 1, burstLimit: 1 } } }), /not one of GATEWAY_ROUTES/);
  });

  it("answers API Gateway's own 429 in the OpenAI shape with Retry-After", () => {
    synth(stack.scratch).template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
      ResponseParameters: { 'gatewayresponse.header.Retry-After': "'1'" },
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"type":"rate_limit_error"') },
    });
  });
});

describe('custom domain', () => {
  it('none by default: the execute-api endpoint serves the API', () => {
    assert.deepEqual(resourcesOfType(stack.json, 'AWS::ApiGateway::DomainName'), []);
    const [, api] = onlyResource(stack.json, 'AWS::ApiGateway::RestApi');
    assert.notEqual(api.Properties?.['DisableExecuteApiEndpoint'], true);
  });

  it('maps the API at the base path on a regional TLS 1.2 domain, and disables the execute-api endpoint', () => {
    const { json } = synth(stack.scratch, {
      domain: { domainName: 'ai.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc', basePath: 'llm' },
    });
    const [domainId, domain] = onlyResource(json, 'AWS::ApiGateway::DomainName');
    assert.equal(domain.Properties?.['DomainName'], 'ai.example.com');
    assert.equal(domain.Properties?.['RegionalCertificateArn'], 'arn:aws:acm:eu-west-1:123456789012:certificate/abc');
    assert.equal(domain.Properties?.['SecurityPolicy'], 'TLS_1_2');
    assert.deepEqual(domain.Properties?.['EndpointConfiguration'], { Types: ['REGIONAL'] });
    const [, mapping] = onlyResource(json, 'AWS::ApiGateway::BasePathMapping');
    assert.equal(mapping.Properties?.['BasePath'], 'llm');
    assert.deepEqual(mapping.Properties?.['DomainName'], { Ref: domainId });
    const [, api] = onlyResource(json, 'AWS::ApiGateway::RestApi');
    assert.equal(api.Properties?.['DisableExecuteApiEndpoint'], true);
  });
});
