import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OUTPUTS } from '../../lib/StateStack.js';
import {
  gatewayFunction,
  liveAliasId,
  onlyResource,
  referencedIds,
  resourcesOfType,
  synth,
  useSynthesizedStack,
  workerFunction,
  type CfnResource,
  type CfnTemplate,
} from './synthStack.js';

const stack = useSynthesizedStack();

/** Alarms by the last part of their logical id's construct name ("Availability", "HighDeadLetters"...). */
function alarms(json: CfnTemplate = stack.json): Map<string, CfnResource> {
  const found = new Map<string, CfnResource>();
  for (const [id, alarm] of resourcesOfType(json, 'AWS::CloudWatch::Alarm')) {
    const name = id.replace(/^Alarms/, '').replace(/[0-9A-F]{8}$/, '');
    found.set(name, alarm);
  }
  return found;
}

function alarm(name: string, json: CfnTemplate = stack.json): Record<string, unknown> {
  const found = alarms(json).get(name);
  assert.ok(found, `no alarm ${name}; have ${[...alarms(json).keys()].join(', ')}`);
  return found.Properties ?? {};
}

/** A dashboard body (an Fn::Join of text and references) as text, each reference as `REF`. */
function joinedText(body: unknown): string {
  if (typeof body === 'string') return body;
  const [, parts] = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map((part) => (typeof part === 'string' ? part : 'REF')).join('');
}

const topicId = () => (stack.json.Outputs?.[OUTPUTS.ALARM_TOPIC_ARN]?.Value as { Ref: string }).Ref;

describe('SLO alarms', () => {
  it('notifies the alarm topic from every alarm, and treats no data as no breach', () => {
    assert.equal(stack.json.Resources[topicId()]?.Type, 'AWS::SNS::Topic');
    assert.ok(alarms().size >= 10, `${alarms().size} alarms`);
    for (const [name, a] of alarms()) {
      assert.deepEqual(a.Properties?.['AlarmActions'], [{ Ref: topicId() }], name);
      assert.equal(a.Properties?.['TreatMissingData'], 'notBreaching', name);
    }
  });

  it('availability: 5xx above 0.5% of at least 20 requests over 5 minutes', () => {
    const a = alarm('Availability');
    assert.equal(a['Threshold'], 0.5);
    assert.equal(a['ComparisonOperator'], 'GreaterThanThreshold');
    const metrics = a['Metrics'] as Array<{ Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Namespace: string }; Period: number } }>;
    assert.ok(metrics.some((m) => m.Expression === 'IF(requests >= 20, 100 * errors / requests, 0)'), JSON.stringify(metrics));
    const names = metrics.filter((m) => m.MetricStat).map((m) => `${m.Id}:${m.MetricStat!.Metric.Namespace}/${m.MetricStat!.Metric.MetricName}:${m.MetricStat!.Period}`);
    assert.deepEqual(names.sort(), ['errors:AWS/ApiGateway/5XXError:300', 'requests:AWS/ApiGateway/Count:300']);
  });

  it('latency: API p99 above 30 s over 5 minutes', () => {
    const a = alarm('LatencyP99');
    assert.equal(a['MetricName'], 'Latency');
    assert.equal(a['Namespace'], 'AWS/ApiGateway');
    assert.equal(a['ExtendedStatistic'], 'p99');
    assert.equal(a['Threshold'], 30_000);
    assert.equal(a['Period'], 300);
  });

  it('the functions: errors and throttles of each live alias', () => {
    for (const [name, fn] of [['Gateway', gatewayFunction(stack.json)], ['Worker', workerFunction(stack.json)]] as const) {
      const aliasResource = JSON.stringify({ 'Fn::Join': ['', [{ Ref: fn[0] }, ':live']] });
      for (const [suffix, metric] of [['Errors', 'Errors'], ['Throttles', 'Throttles']]) {
        const a = alarm(`${name}${suffix}`);
        assert.equal(a['MetricName'], metric);
        assert.equal(a['Namespace'], 'AWS/Lambda');
        const dimensions = a['Dimensions'] as Array<{ Name: string; Value: unknown }>;
        assert.ok(dimensions.some((d) => d.Name === 'Resource' && JSON.stringify(d.Value) === aliasResource), `${name}${suffix}: ${JSON.stringify(dimensions)}`);
      }
      assert.equal(alarm(`${name}Throttles`)['Threshold'], 0);
      assert.equal(alarm(`${name}Errors`)['Threshold'], 5);
    }
  });

  it('the queues: any dead letter, and a task waiting over 15 minutes', () => {
    for (const priority of ['High', 'Normal']) {
      const dlq = alarm(`${priority}DeadLetters`);
      assert.equal(dlq['MetricName'], 'ApproximateNumberOfMessagesVisible');
      assert.equal(dlq['Statistic'], 'Maximum');
      assert.equal(dlq['Threshold'], 0);
      const dlqName = JSON.stringify((dlq['Dimensions'] as Array<{ Value: unknown }>)[0]!.Value);
      assert.match(dlqName, /DeadLetterQueue/);
      const age = alarm(`${priority}OldestTask`);
      assert.equal(age['MetricName'], 'ApproximateAgeOfOldestMessage');
      assert.equal(age['Threshold'], 900);
    }
  });

  type MathMetric = { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: Array<{ Name: string; Value: string }> }; Period: number; Stat: string } };
  /** An alarm on the functions' own metrics: its expression and the `name:service` pairs it sums. */
  function engineAlarm(name: string, json: CfnTemplate = stack.json) {
    const a = alarm(name, json);
    const metrics = a['Metrics'] as MathMetric[];
    const expression = metrics.find((m) => m.Expression)!.Expression!;
    const summed = metrics
      .filter((m) => m.MetricStat)
      .map((m) => {
        const { Metric, Period, Stat } = m.MetricStat!;
        assert.equal(Period, 300, name);
        assert.equal(Stat, 'Sum', name);
        assert.equal(Metric.Namespace, 'Breakwater', name);
        return `${Metric.MetricName}:${Metric.Dimensions.map((d) => `${d.Name}=${d.Value}`).join(',')}`;
      })
      .sort();
    return { a, expression, summed, ids: metrics.filter((m) => m.MetricStat).map((m) => m.Id) };
  }
  const bothServices = (metricName: string) => [`${metricName}:service=breakwater-gateway`, `${metricName}:service=breakwater-worker`];

  it('80% budget events: any BudgetAlert80 from the gateway or the worker', () => {
    const { a, expression, summed, ids } = engineAlarm('BudgetAlerts');
    assert.deepEqual(summed, bothServices('BudgetAlert80'));
    assert.equal(a['Threshold'], 0);
    assert.equal(a['ComparisonOperator'], 'GreaterThanThreshold');
    // A service with no data point in the window adds 0 instead of blanking the sum.
    for (const id of ids) assert.ok(expression.includes(`FILL(${id}, 0)`), expression);
  });

  it('provider throttling: upstream 429s above 20 in 5 minutes', () => {
    const { a, summed } = engineAlarm('ProviderThrottling');
    assert.deepEqual(summed, bothServices('ProviderThrottled'));
    assert.equal(a['Threshold'], 20);
  });

  it('store unavailability: any StoreUnavailable, breaker store or rate-limit store failure', () => {
    const { a, expression, summed } = engineAlarm('StoreUnavailable');
    assert.deepEqual(summed, [...bothServices('BreakerStoreUnavailable'), ...bothServices('RateLimitStoreUnavailable'), ...bothServices('StoreUnavailable')].sort());
    assert.equal(a['Threshold'], 0);
    assert.equal(expression.split('+').length, 6);
  });

  it('the new alarms notify but never roll a release back', () => {
    const rollback = JSON.stringify(resourcesOfType(stack.json, 'AWS::CodeDeploy::DeploymentGroup').map(([, r]) => r.Properties));
    for (const [id] of resourcesOfType(stack.json, 'AWS::CloudWatch::Alarm')) {
      if (/^Alarms(BudgetAlerts|ProviderThrottling|StoreUnavailable)/.test(id)) assert.ok(!rollback.includes(id), id);
    }
  });

  it('takes SLO targets from the props', () => {
    const custom = synth(stack.scratch, { slo: { availability: 0.99, latencyP99Ms: 60_000 } }).json;
    assert.equal(alarm('Availability', custom)['Threshold'], 1);
    assert.equal(alarm('LatencyP99', custom)['Threshold'], 60_000);
    assert.throws(() => synth(stack.scratch, { slo: { availability: 99.5 } }), /between 0 and 1/);
    const quieter = synth(stack.scratch, { slo: { providerThrottlesPer5Min: 200, budgetAlertsPer5Min: 3, storeUnavailablePer5Min: 5 }, metricsNamespace: 'Breakwater/qa' }).json;
    assert.equal(alarm('ProviderThrottling', quieter)['Threshold'], 200);
    assert.equal(alarm('BudgetAlerts', quieter)['Threshold'], 3);
    assert.equal(alarm('StoreUnavailable', quieter)['Threshold'], 5);
    // The stage's namespace, as the functions write it.
    const namespaces = (alarm('StoreUnavailable', quieter)['Metrics'] as MathMetric[]).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.Namespace] : []));
    assert.deepEqual([...new Set(namespaces)], ['Breakwater/qa']);
  });
});

describe('dashboard', () => {
  it('charts the API, the functions, the engine, the queues and the alarms on one page', () => {
    const [, dashboard] = onlyResource(stack.json, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard.Properties?.['DashboardBody']);
    for (const needle of ['5XXError', 'Latency', 'p99', 'p95', 'p50', 'Throttles', 'BreakerOpened', 'RateLimitRejected', 'ApproximateAgeOfOldestMessage', 'alarm']) {
      assert.ok(body.includes(needle), `dashboard lacks ${needle}`);
    }
    for (const [, a] of resourcesOfType(stack.json, 'AWS::CloudWatch::Alarm')) assert.ok(a.Properties, 'alarm');
  });

  it("charts the gateway's own metrics: TTFB percentiles, fallbacks by level, cache hits, spend and tokens, errors by class", () => {
    const [, dashboard] = onlyResource(stack.json, 'AWS::CloudWatch::Dashboard');
    const body = joinedText(dashboard.Properties?.['DashboardBody']);
    const widgets = (JSON.parse(body) as { widgets: Array<{ properties: { title?: string; metrics?: unknown[][] } }> }).widgets;
    const widget = (title: RegExp) => {
      const found = widgets.find((w) => title.test(w.properties.title ?? ''));
      assert.ok(found, `no widget ${title}; have ${widgets.map((w) => w.properties.title).join(' | ')}`);
      return JSON.stringify(found.properties.metrics);
    };
    const ttfb = widget(/time to first byte/);
    for (const p of ['p50', 'p95', 'p99']) assert.ok(ttfb.includes(`"TimeToFirstByte"`) && ttfb.includes(`"stat":"${p}"`), `TTFB ${p}: ${ttfb}`);
    const fallbacks = widget(/Fallbacks by level/);
    for (const level of ['1', '2', '3+']) assert.ok(fallbacks.includes(`"fallback_level","${level}"`), `level ${level}: ${fallbacks}`);
    assert.ok(fallbacks.includes('"CacheHits"'), fallbacks);
    const spend = widget(/Spend/);
    assert.ok(spend.includes('"Spend"') && spend.includes('"Tokens"'), spend);
    assert.ok(spend.includes("SEARCH('{Breakwater,service,tenant} MetricName=") && spend.includes("', 'Sum', 60)"), `per tenant: ${spend}`);
    const errors = widget(/errors by class/);
    for (const errorClass of ['client_4xx', 'throttled_429', 'upstream', 'timeout', 'store_unavailable', 'server_5xx']) assert.ok(errors.includes(`"outcome","${errorClass}"`), errorClass);
    for (const needle of ['ProviderThrottled', 'StoreUnavailable', 'TasksCompleted', 'TasksFailed', 'DeadLetterMoves']) assert.ok(body.includes(needle), `dashboard lacks ${needle}`);
  });
});

describe('releases', () => {
  type Group = { DeploymentConfigName: string; AlarmConfiguration: { Enabled: boolean; Alarms: Array<{ Name: unknown }> }; AutoRollbackConfiguration: { Enabled: boolean; Events: string[] } };
  const groups = (json: CfnTemplate) => resourcesOfType(json, 'AWS::CodeDeploy::DeploymentGroup').map(([id, r]) => [id, r.Properties as unknown as Group] as const);
  const alarmIds = (json: CfnTemplate, names: string[]) =>
    names.map((name) => [...resourcesOfType(json, 'AWS::CloudWatch::Alarm')].find(([id]) => id.replace(/^Alarms/, '').replace(/[0-9A-F]{8}$/, '') === name)![0]);

  it('shifts each live alias with CodeDeploy, rolling back on failure, stop or its alarms', () => {
    const found = groups(stack.json);
    assert.equal(found.length, 2);
    for (const [fnName, [fnId]] of [['Gateway', gatewayFunction(stack.json)], ['Worker', workerFunction(stack.json)]] as const) {
      const [groupId, group] = found.find(([id]) => id.startsWith(`Release${fnName}`))!;
      assert.equal(group.DeploymentConfigName, 'CodeDeployDefault.LambdaCanary10Percent5Minutes', groupId);
      assert.deepEqual(group.AutoRollbackConfiguration.Events.sort(), ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM', 'DEPLOYMENT_STOP_ON_REQUEST']);
      const expected = fnName === 'Gateway' ? ['Availability', 'LatencyP99', 'GatewayErrors'] : ['WorkerErrors'];
      const referenced = group.AlarmConfiguration.Alarms.flatMap((a) => [...referencedIds(a.Name)]);
      assert.deepEqual(referenced.sort(), alarmIds(stack.json, expected).sort(), groupId);
      // The alias carries CodeDeploy's update policy: CloudFormation hands each new version to the group.
      const aliasId = liveAliasId(stack.json, fnId);
      const alias = stack.json.Resources[aliasId] as CfnResource & { UpdatePolicy?: { CodeDeployLambdaAliasUpdate?: { DeploymentGroupName: unknown } } };
      assert.deepEqual(alias.UpdatePolicy?.CodeDeployLambdaAliasUpdate?.DeploymentGroupName, { Ref: groupId });
    }
  });

  it('shifts all at once when asked (dev), still rolled back by the alarms', () => {
    for (const [, group] of groups(synth(stack.scratch, { release: 'allAtOnce' }).json)) {
      assert.equal(group.DeploymentConfigName, 'CodeDeployDefault.LambdaAllAtOnce');
      assert.equal(group.AlarmConfiguration.Enabled, true);
    }
  });
});
