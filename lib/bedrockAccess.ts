import { existsSync, readFileSync } from 'node:fs';
import { Aws } from 'aws-cdk-lib';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { BEDROCK_GRANT_NONE, bedrockGrantEntry } from '../shared/config/bedrockGrant.js';
import { compileConfig } from '../shared/config/index.js';
import { leaves } from '../shared/routing/routePlan.js';

/**
 * The provider calls Converse (`bedrock:InvokeModel`) and ConverseStream
 * (`bedrock:InvokeModelWithResponseStream`), which IAM authorises as these two actions.
 */
export const BEDROCK_ACTIONS: readonly string[] = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'];

/** Foundation models, and this account's inference profiles, in any region: for models the config does not name. */
export const BEDROCK_RESOURCES: readonly string[] = [
  `arn:${Aws.PARTITION}:bedrock:*::foundation-model/*`,
  `arn:${Aws.PARTITION}:bedrock:*:${Aws.ACCOUNT_ID}:inference-profile/*`,
  `arn:${Aws.PARTITION}:bedrock:*:${Aws.ACCOUNT_ID}:application-inference-profile/*`,
];

/** A cross-region inference profile's id: the model id behind a geography prefix (`us.anthropic.claude-...`). */
const INFERENCE_PROFILE_ID = /^(us|us-gov|eu|apac|jp|au|ca|global)\.(.+)$/;

/** A Bedrock target of the config: the model it names (undefined: the client's) and the region it calls. */
export interface BedrockTarget {
  readonly model: string | undefined;
  readonly region: string | undefined;
}

/** Every Bedrock target (named provider or inline) the routes reach. */
export function bedrockTargets(raw: unknown, source = 'config'): BedrockTarget[] {
  const targets: BedrockTarget[] = [];
  for (const route of compileConfig(raw, source).routes.values()) {
    for (const target of leaves(route)) {
      if (target.provider.type === 'bedrock') targets.push({ model: target.model, region: target.provider.region });
    }
  }
  return targets;
}

/**
 * The ARNs the functions may invoke for these targets: each named model's foundation-model
 * ARN in its target's region (the function's own when the provider names none); for an
 * inference profile (`us.…`), the profile in that region and the model in every region the
 * profile routes to (IAM checks both). The broad {@link BEDROCK_RESOURCES} only when a target
 * passes the client's model through or names an ARN: the config does not say which models then.
 */
export function bedrockResources(targets: readonly BedrockTarget[]): string[] {
  if (targets.some(({ model }) => model === undefined || model.startsWith('arn:'))) return [...BEDROCK_RESOURCES];
  const resources = new Set<string>();
  for (const { model, region = Aws.REGION } of targets) {
    const profile = INFERENCE_PROFILE_ID.exec(model!);
    if (profile) {
      resources.add(`arn:${Aws.PARTITION}:bedrock:${region}:${Aws.ACCOUNT_ID}:inference-profile/${model}`);
      resources.add(`arn:${Aws.PARTITION}:bedrock:*::foundation-model/${profile[2]}`);
    } else {
      resources.add(`arn:${Aws.PARTITION}:bedrock:${region}::foundation-model/${model}`);
    }
  }
  return [...resources].sort();
}

/** {@link bedrockResources} of the config file at `path`; none when there is no file (synth without bundling). */
export function readBedrockResources(path: string): string[] {
  if (!existsSync(path)) return [];
  return bedrockResources(bedrockTargets(JSON.parse(readFileSync(path, 'utf8')), path));
}

/**
 * What {@link bedrockResources} grants for these targets, as the functions read it
 * (BREAKWATER_BEDROCK_GRANTED, shared/config/bedrockGrant.ts): `*` for the broad grant, else
 * `<model>@<region>` entries (the function's region a deploy-time token where the provider names none),
 * `none` without Bedrock targets.
 */
export function bedrockGrantValue(targets: readonly BedrockTarget[]): string {
  if (targets.some(({ model }) => model === undefined || model.startsWith('arn:'))) return '*';
  if (targets.length === 0) return BEDROCK_GRANT_NONE;
  return [...new Set(targets.map(({ model, region = Aws.REGION }) => bedrockGrantEntry(model!, region)))].sort().join(',');
}

/** {@link bedrockGrantValue} of the config file at `path`; undefined when there is no file. */
export function readBedrockGrantValue(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return bedrockGrantValue(bedrockTargets(JSON.parse(readFileSync(path, 'utf8')), path));
}

/** Lets `grantee` call Converse and ConverseStream on `resources` ({@link bedrockResources}). */
export function grantBedrockInvoke(grantee: IGrantable, resources: readonly string[]): void {
  if (resources.length === 0) return;
  grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: [...BEDROCK_ACTIONS], resources: [...resources] }));
}
