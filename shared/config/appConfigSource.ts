import type { Logger } from '@aws-lambda-powertools/logger';
import type { Clock } from '../resilience/clock';
import { ungrantedBedrockModels, type BedrockGrant } from './bedrockGrant';
import { compileConfig, loadConfigFile, type CompiledConfig } from './compileConfig';
import { insecureConfigFindings } from './insecureConfigFindings';

/**
 * What {@link AppConfigSource} needs of Powertools' `AppConfigProvider`: the profile's current
 * content (bytes as AppConfig returns them). The source calls it once per `maxAge` at most.
 */
export interface ConfigContentProvider {
  get(profile: string, options: { maxAge: number }): Promise<Uint8Array | string | undefined>;
}

export interface AppConfigSourceOptions {
  readonly provider: ConfigContentProvider;
  /** The configuration profile's name or id. */
  readonly profile: string;
  /** The config bundled with the function (BREAKWATER_CONFIG): the cold start's fallback. */
  readonly fallbackPath: string;
  /**
   * How long a config is used before AppConfig is asked again. 60 s: a change reaches every
   * warm function within a minute, at one GetLatestConfiguration call a minute per instance.
   * @default 60
   */
  readonly maxAgeSeconds?: number;
  readonly clock: Pick<Clock, 'now'>;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /**
   * Refuse a fetched config with simulated providers or plain tenant keys
   * ({@link insecureConfigFindings}), as synth refuses such a bundled file: a production
   * stage's functions, told by the stack (unless it was deployed with allowInsecureConfig).
   * @default false
   */
  readonly refuseInsecure?: boolean;
  /**
   * What the stack granted on Bedrock: a fetched config naming another model is taken up (its
   * other routes work) with a warning naming the model, whose calls Bedrock will refuse.
   * @default undefined — not checked
   */
  readonly bedrockGrant?: BedrockGrant;
  /** The region a Bedrock provider without one calls. @default undefined — 'the function region' in messages */
  readonly defaultRegion?: string;
}

/** A fetched config that compiles but that this function must not serve with. */
class RefusedConfigError extends Error {
  override readonly name = 'RefusedConfigError';
  constructor(readonly findings: readonly string[]) {
    super(`not fit for a production stage: ${findings.join('; ')}`);
  }
}

/** Where the config in use came from. */
export type ConfigOrigin = 'appconfig' | 'bundled';

/** The config in use; a new object (and a higher `version`) only when the content changed. */
export interface ConfigSnapshot {
  readonly config: CompiledConfig;
  readonly origin: ConfigOrigin;
  /** 1 at cold start, +1 for every change taken up. */
  readonly version: number;
}

export const DEFAULT_APPCONFIG_MAX_AGE_SECONDS = 60;

/**
 * The routing config as AWS AppConfig delivers it, compiled by the same `compileConfig` as the
 * bundled file. Cold start: AppConfig's content, or the bundled file if AppConfig fails (logged;
 * the function still serves). After that, at most once per `maxAgeSeconds`, it asks again and
 * takes up a changed content; a failed fetch or a content that does not compile is logged and
 * the config in use is kept: a bad deployment never takes a serving function down (AppConfig's
 * own validator and the alarms' rollback are the first line).
 */
export class AppConfigSource {
  readonly #options: AppConfigSourceOptions;
  readonly #maxAgeMs: number;
  #snapshot?: ConfigSnapshot;
  /** The last content seen, good or bad, so a bad one is compiled (and logged) once, not every minute. */
  #lastContent?: string;
  #checkedAt = 0;
  #pending?: Promise<ConfigSnapshot>;

  constructor(options: AppConfigSourceOptions) {
    this.#options = options;
    this.#maxAgeMs = (options.maxAgeSeconds ?? DEFAULT_APPCONFIG_MAX_AGE_SECONDS) * 1000;
  }

  /** The config to serve this invocation with. Concurrent callers share one fetch. */
  current(): Promise<ConfigSnapshot> {
    const snapshot = this.#snapshot;
    if (snapshot && this.#options.clock.now() - this.#checkedAt < this.#maxAgeMs) return Promise.resolve(snapshot);
    this.#pending ??= (snapshot ? this.#refresh(snapshot) : this.#coldStart()).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #coldStart(): Promise<ConfigSnapshot> {
    const { logger, fallbackPath } = this.#options;
    this.#checkedAt = this.#options.clock.now();
    try {
      const content = await this.#fetch();
      this.#lastContent = content;
      this.#snapshot = { config: this.#accept(content), origin: 'appconfig', version: 1 };
      logger.info('config loaded from AppConfig', { configOrigin: 'appconfig' });
    } catch (error) {
      if (error instanceof RefusedConfigError) {
        // The bundled file passed the same rule at synth.
        logger.error('AppConfig delivered a config refused in production; using the bundled config', { findings: error.findings, fallbackPath });
        this.#snapshot = { config: await loadConfigFile(fallbackPath), origin: 'bundled', version: 1 };
        return this.#snapshot;
      }
      // The bundled file is the config the stack was deployed with: serving on it beats failing every request.
      logger.error('AppConfig config unavailable at cold start; using the bundled config', { error: describe(error), fallbackPath });
      this.#snapshot = { config: await loadConfigFile(fallbackPath), origin: 'bundled', version: 1 };
    }
    return this.#snapshot;
  }

  async #refresh(snapshot: ConfigSnapshot): Promise<ConfigSnapshot> {
    const { logger } = this.#options;
    this.#checkedAt = this.#options.clock.now();
    let content: string;
    try {
      content = await this.#fetch();
    } catch (error) {
      logger.warn('AppConfig refresh failed; keeping the config in use', { error: describe(error), configVersion: snapshot.version });
      return snapshot;
    }
    if (content === this.#lastContent) return snapshot;
    this.#lastContent = content;
    try {
      const config = this.#accept(content);
      this.#snapshot = { config, origin: 'appconfig', version: snapshot.version + 1 };
      logger.info('new config from AppConfig taken up', { configVersion: this.#snapshot.version });
      return this.#snapshot;
    } catch (error) {
      if (error instanceof RefusedConfigError) {
        logger.error('AppConfig delivered a config refused in production; keeping the config in use', {
          findings: error.findings,
          configVersion: snapshot.version,
        });
        return snapshot;
      }
      logger.error('AppConfig delivered a config that does not compile; keeping the config in use', {
        error: describe(error),
        configVersion: snapshot.version,
      });
      return snapshot;
    }
  }

  /**
   * The content compiled and held to this function's rules: refused (RefusedConfigError) when
   * insecure in production; taken with a warning when it names Bedrock models the stack did
   * not grant (IAM was set at deploy; the function cannot widen it, and other routes still work).
   */
  #accept(content: string): CompiledConfig {
    const { refuseInsecure, bedrockGrant, defaultRegion, logger } = this.#options;
    const raw = parseJson(content);
    const config = compileConfig(raw, 'AppConfig');
    if (refuseInsecure === true) {
      const findings = insecureConfigFindings(raw, config);
      if (findings.length > 0) throw new RefusedConfigError(findings);
    }
    const ungranted = bedrockGrant ? ungrantedBedrockModels(config, bedrockGrant, defaultRegion) : [];
    if (ungranted.length > 0) {
      logger.warn('AppConfig config names Bedrock models this function is not granted: Bedrock will refuse them (AccessDenied) until the stack is deployed with a config naming them', {
        ungrantedBedrockModels: ungranted,
      });
    }
    return config;
  }

  async #fetch(): Promise<string> {
    const { provider, profile } = this.#options;
    const content = await provider.get(profile, { maxAge: this.#maxAgeMs / 1000 });
    if (content === undefined) throw new Error(`AppConfig returned no content for profile ${profile}`);
    return typeof content === 'string' ? content : new TextDecoder().decode(content);
  }
}

function parseJson(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch (cause) {
    throw new Error(`AppConfig content is not valid JSON: ${(cause as Error).message}`);
  }
}

/** The error's message only: a config error lists paths and reasons, never a secret's value (configs name secrets, never hold them). */
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
