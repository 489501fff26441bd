import { leaves } from '../routing/routePlan';
import type { CompiledConfig } from './compileConfig';

/**
 * The Bedrock models the stack granted the function (lib/bedrockAccess.ts), set by the stack:
 * `<model>@<region>` entries separated by commas, `*` when the grant covers every model (a
 * target passes the client's model through), `none` when nothing was granted. Unset (npm start,
 * tests): not checked. IAM is granted at deploy time, from the bundled config; a config pushed
 * later through AppConfig that names another model gets AccessDenied from Bedrock.
 */
export const BEDROCK_GRANT_ENV = 'BREAKWATER_BEDROCK_GRANTED';

/** The env value for no Bedrock grant at all (an empty value is not one every tool keeps). */
export const BEDROCK_GRANT_NONE = 'none';

/** Everything on Bedrock, or the listed `<model>@<region>` entries. */
export type BedrockGrant = { readonly anyModel: true } | { readonly anyModel: false; readonly entries: ReadonlySet<string> };

/** One entry of {@link BEDROCK_GRANT_ENV}. */
export const bedrockGrantEntry = (model: string, region: string): string => `${model}@${region}`;

/** The grant from the env, or undefined when the stack did not say. */
export function bedrockGrantFromEnv(env: NodeJS.ProcessEnv = process.env): BedrockGrant | undefined {
  const value = env[BEDROCK_GRANT_ENV];
  if (value === undefined) return undefined;
  if (value.trim() === '*') return { anyModel: true };
  if (value.trim() === BEDROCK_GRANT_NONE) return { anyModel: false, entries: new Set() };
  return { anyModel: false, entries: new Set(value.split(',').map((entry) => entry.trim()).filter(Boolean)) };
}

/**
 * The Bedrock targets of `config` the grant does not cover, each described for a log line
 * (model and region, never a credential). A target without a model of its own (the client's
 * passes through) or naming an ARN needs the broad grant.
 *
 * @param defaultRegion - the region a provider without one calls (the function's AWS_REGION)
 */
export function ungrantedBedrockModels(config: CompiledConfig, grant: BedrockGrant, defaultRegion: string | undefined): string[] {
  if (grant.anyModel) return [];
  const ungranted = new Set<string>();
  for (const [routeName, route] of config.routes) {
    for (const target of leaves(route)) {
      if (target.provider.type !== 'bedrock') continue;
      const region = target.provider.region ?? defaultRegion ?? 'the function region';
      if (target.model === undefined || target.model.startsWith('arn:')) {
        ungranted.add(`routes.${routeName}: ${target.model ?? "the client's model"} in ${region} (the stack granted only the models its config named)`);
      } else if (!grant.entries.has(bedrockGrantEntry(target.model, region))) {
        ungranted.add(`routes.${routeName}: model ${target.model} in ${region}`);
      }
    }
  }
  return [...ungranted];
}
