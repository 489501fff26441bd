import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { GatewayStack, type GatewayStackProps } from '../../lib/GatewayStack.js';
import { StateStack, type StateStackProps } from '../../lib/StateStack.js';
import { DEFAULT_GATEWAY_ENTRY, DEFAULT_WORKER_ENTRY, REPO_ROOT } from '../../lib/paths.js';

/** Helpers shared by the stack's assertion tests: synthesis without bundling, and template queries. */

export type CfnResource = {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};
export type CfnTemplate = {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
};

/** The gateway stack's props, flat, plus what the state stack takes (both get configPath and workerTimeout). */
export type SynthProps = Partial<Omit<GatewayStackProps, 'state'>> & Pick<StateStackProps, 'secretPrefix' | 'tableNamePrefix' | 'alarmEmail'>;
export type Statement = { Effect: string; Action: string | string[]; Resource?: unknown };

/** Feature flags from cdk.json, so the tests synthesize what `cdk synth` would. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/**
 * A scratch directory with handler stubs for entries that do not exist yet (bundling is
 * skipped, but NodejsFunction insists on an existing entry file).
 */
export interface Scratch {
  dir: string;
  entry: string;
  workerEntry: string;
  cleanup(): void;
}

export function createScratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'breakwater-infra-'));
  const stub = (name: string) => {
    const path = join(dir, name);
    writeFileSync(path, 'export const handler = async () => ({ statusCode: 200, body: "" });\n');
    return path;
  };
  return {
    dir,
    entry: existsSync(DEFAULT_GATEWAY_ENTRY) ? DEFAULT_GATEWAY_ENTRY : stub('handler.ts'),
    workerEntry: existsSync(DEFAULT_WORKER_ENTRY) ? DEFAULT_WORKER_ENTRY : stub('worker.ts'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Writes a config file into the scratch directory and returns its path. */
export function writeConfig(scratch: Scratch, name: string, config: unknown): string {
  const path = join(scratch.dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/**
 * A scratch directory for the whole test file: made in `before`, removed in `after`. The
 * returned object reads through to it, so it may be captured at load time but read only in tests.
 */
export function useScratch(): Scratch {
  let scratch: Scratch | undefined;
  before(() => {
    scratch = createScratch();
  });
  after(() => scratch?.cleanup());
  const current = (): Scratch => {
    assert.ok(scratch, 'the scratch directory exists only while the tests run');
    return scratch;
  };
  return {
    get dir() {
      return current().dir;
    },
    get entry() {
      return current().entry;
    },
    get workerEntry() {
      return current().workerEntry;
    },
    cleanup: () => current().cleanup(),
  };
}

/** A test file's scratch directory and the stack synthesized once from it. */
export interface SynthesizedStack {
  readonly scratch: Scratch;
  readonly json: CfnTemplate;
}

/**
 * Synthesizes the stack once for the test file (in `before`, after {@link useScratch} made the
 * scratch directory); `props` may write a config into that directory.
 */
export function useSynthesizedStack(props: (scratch: Scratch) => SynthProps = () => ({})): SynthesizedStack {
  const scratch = useScratch();
  let json: CfnTemplate | undefined;
  before(() => {
    json = synth(scratch, props(scratch)).json;
  });
  return {
    scratch,
    get json() {
      assert.ok(json, 'the stack is synthesized only while the tests run');
      return json;
    },
  };
}

/** The cdk-nag packs `cdk synth` runs (bin/app.ts). */
export const nagPacks = (scope: IConstruct) => [new AwsSolutionsChecks(scope), new ServerlessChecks(scope)];

/** Every unacknowledged cdk-nag finding (AwsSolutions and Serverless) in `scope`, as "rule @ construct path". */
export function nagFindings(scope: IConstruct): string[] {
  return nagPacks(scope).flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} @ ${(r as { constructPath?: string }).constructPath ?? r.resourceLogicalId}`),
      ),
  );
}

/** The state stack and the gateway stack on it, as `bin/app.ts` builds them, in `app`. */
export function buildStacks(app: App, scratch: Scratch, props: SynthProps = {}): { state: StateStack; gateway: GatewayStack } {
  const { secretPrefix, tableNamePrefix, alarmEmail, ...gatewayProps } = props;
  const state = new StateStack(app, 'BreakwaterState', {
    configPath: props.configPath,
    workerTimeout: props.workerTimeout,
    secretPrefix,
    tableNamePrefix,
    alarmEmail,
  });
  const gateway = new GatewayStack(app, 'Breakwater', { entry: scratch.entry, workerEntry: scratch.workerEntry, ...gatewayProps, state });
  return { state, gateway };
}

/**
 * Synthesizes both stacks without bundling and returns them *linked*: one template whose
 * cross-stack references (`Fn::GetStackOutput` of the state stack's outputs) are replaced by
 * the outputs' values, so a function's env var reads `{ Ref: <table> }` as in one stack, and
 * every assertion can follow references from the functions to the data they touch.
 */
export function synth(
  scratch: Scratch,
  props: SynthProps = {},
): { template: Template; json: CfnTemplate; stack: GatewayStack; state: StateStack; stateJson: CfnTemplate; gatewayJson: CfnTemplate } {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    outdir: mkdtempSync(join(scratch.dir, 'cdk.out-')),
  });
  const { state, gateway } = buildStacks(app, scratch, props);
  const stateJson = Template.fromStack(state).toJSON() as CfnTemplate;
  const gatewayJson = Template.fromStack(gateway).toJSON() as CfnTemplate;
  const json = linkTemplates(stateJson, gatewayJson, state.stackName);
  return { template: Template.fromJSON(json), json, stack: gateway, state, stateJson, gatewayJson };
}

/** `consumer`'s references to `producer`'s outputs replaced by their values, both templates' resources and outputs in one. */
export function linkTemplates(producer: CfnTemplate, consumer: CfnTemplate, producerStackName: string): CfnTemplate {
  const outputs = producer.Outputs ?? {};
  const link = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(link);
    if (value === null || typeof value !== 'object') return value;
    const reference = (value as Record<string, unknown>)['Fn::GetStackOutput'] as { StackName?: unknown; OutputName?: string } | undefined;
    if (reference) {
      assert.equal(reference.StackName, producerStackName, `a reference to another stack: ${JSON.stringify(value)}`);
      const output = outputs[reference.OutputName ?? ''];
      assert.ok(output, `no output ${reference.OutputName} in ${producerStackName}`);
      return output.Value;
    }
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, link(inner)]));
  };
  for (const id of Object.keys(consumer.Resources)) {
    assert.ok(!(id in producer.Resources), `logical id ${id} is in both stacks`);
  }
  return {
    Resources: { ...producer.Resources, ...(link(consumer.Resources) as CfnTemplate['Resources']) },
    Outputs: { ...outputs, ...(link(consumer.Outputs ?? {}) as CfnTemplate['Outputs']) },
  };
}

export function resourcesOfType(json: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

export function onlyResource(json: CfnTemplate, type: string): [string, CfnResource] {
  const found = resourcesOfType(json, type);
  assert.equal(found.length, 1, `expected exactly one ${type}, found ${found.length}`);
  return found[0]!;
}

/** The Lambda function whose POWERTOOLS_SERVICE_NAME is `service` ('breakwater-gateway' / 'breakwater-worker'). */
export function functionByService(json: CfnTemplate, service: string): [string, CfnResource] {
  const found = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, r]) => {
    const env = (r.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    return env?.['POWERTOOLS_SERVICE_NAME'] === service;
  });
  assert.equal(found.length, 1, `expected exactly one function for ${service}, found ${found.length}`);
  return found[0]!;
}

export const gatewayFunction = (json: CfnTemplate) => functionByService(json, 'breakwater-gateway');
export const workerFunction = (json: CfnTemplate) => functionByService(json, 'breakwater-worker');

/** Logical ids of the roles the gateway and the worker run with. */
export const gatewayRoleId = (json: CfnTemplate) => roleIdOf(gatewayFunction(json)[1]);
export const workerRoleId = (json: CfnTemplate) => roleIdOf(workerFunction(json)[1]);

export function environmentOf(fn: CfnResource): Record<string, unknown> {
  return ((fn.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
}

/** Logical id of the role a function in this stack runs with. */
export function roleIdOf(fn: CfnResource): string {
  const roleId = ((fn.Properties?.['Role'] as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'] ?? [])[0];
  assert.ok(roleId, 'function role should be a role defined in this stack');
  return roleId;
}

/** Every statement of every inline policy attached to `roleId`. */
export function statementsOfRole(json: CfnTemplate, roleId: string): Statement[] {
  const statements: Statement[] = [];
  for (const r of Object.values(json.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = (r.Properties?.['Roles'] ?? []) as { Ref?: string }[];
    if (!roles.some((role) => role.Ref === roleId)) continue;
    statements.push(...(r.Properties?.['PolicyDocument'] as { Statement: Statement[] }).Statement);
  }
  return statements;
}

export const actionsOf = (s: Statement): string[] => [s.Action].flat();
export const resourcesOf = (s: Statement): unknown[] => (s.Resource === undefined ? [] : [s.Resource].flat());

/** Logical ids referenced by `Fn::GetAtt [id, ...]` or `Ref: id` anywhere inside `value`. */
export function referencedIds(value: unknown): Set<string> {
  const ids = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    const obj = v as Record<string, unknown>;
    if (typeof obj['Ref'] === 'string') ids.add(obj['Ref']);
    const getAtt = obj['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') ids.add(getAtt[0]);
    Object.values(obj).forEach(walk);
  };
  walk(value);
  return ids;
}

/** Actions a role is allowed on resources that reference `resourceId` (sorted, deduplicated). */
export function actionsOnResource(json: CfnTemplate, roleId: string, resourceId: string): string[] {
  const actions = new Set<string>();
  for (const s of statementsOfRole(json, roleId)) {
    if (s.Effect !== 'Allow') continue;
    if (resourcesOf(s).some((r) => referencedIds(r).has(resourceId))) actionsOf(s).forEach((a) => actions.add(a));
  }
  return [...actions].sort();
}

/**
 * Asserts that every IAM policy whose document `touches` (secrets, tables, ...) is attached only
 * to the gateway's and the worker's roles: no other role in the stack reaches `what`.
 */
export function assertOnlyFunctionRolesTouch(json: CfnTemplate, touches: (document: unknown) => boolean, what: string): void {
  const allowed = new Set([gatewayRoleId(json), workerRoleId(json)]);
  for (const [policyId, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    if (!touches(policy.Properties?.['PolicyDocument'])) continue;
    const roles = ((policy.Properties?.['Roles'] ?? []) as { Ref?: string }[]).map((r) => r.Ref);
    assert.ok(roles.every((r) => r !== undefined && allowed.has(r)), `${policyId} grants ${what} to ${roles.join(', ')}`);
  }
}

/** Logical id of the `live` alias of the function `functionId`: what API Gateway and SQS invoke. */
export function liveAliasId(json: CfnTemplate, functionId: string): string {
  const found = resourcesOfType(json, 'AWS::Lambda::Alias').filter(
    ([, r]) => JSON.stringify(r.Properties?.['FunctionName']) === JSON.stringify({ Ref: functionId }) && r.Properties?.['Name'] === 'live',
  );
  assert.equal(found.length, 1, `expected one live alias of ${functionId}, found ${found.length}`);
  return found[0]![0];
}
