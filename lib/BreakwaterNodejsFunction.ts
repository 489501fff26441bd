import { existsSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { Stack, type Duration } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_CONFIG_PATH, fromRepoRoot, LOCK_FILE_PATH, REPO_ROOT } from './paths.js';

/** Where the routing config lands inside the deployment package (/var/task). */
export const BUNDLED_CONFIG_FILE = 'breakwater.config.json';
/** Lambda extracts the deployment package to /var/task. */
export const LAMBDA_TASK_ROOT = '/var/task';

/**
 * ESM bundles have no `require`; some CommonJS dependencies (X-Ray SDK, etc.)
 * call it at runtime, so recreate it from import.meta.url.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * The options the gateway and the worker functions both take. Each function's props extend
 * this and document their own `entry` and `timeout` defaults.
 */
export interface BreakwaterFunctionOptions {
  /** Handler entry file. Relative paths resolve against the repo root. */
  readonly entry?: string;
  /**
   * Routing config copied into the bundle as /var/task/breakwater.config.json.
   * Relative paths resolve against the repo root, not the cwd.
   * Default: <repo>/breakwater.config.json
   */
  readonly configPath?: string;
  /** Default: 1024 */
  readonly memorySize?: number;
  readonly timeout?: Duration;
  /** Default: ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Default: INFO */
  readonly logLevel?: LogLevel;
  /** Extra environment variables (merged over the defaults). */
  readonly environment?: Record<string, string>;
  /**
   * Bundle the AWS SDK v3 instead of using the copy in the Lambda runtime.
   * Default: false (the runtime's @aws-sdk/* is used: smaller bundle, faster cold start;
   * @smithy/* helpers are still bundled).
   */
  readonly bundleAwsSdk?: boolean;
}

/** What each Breakwater function fixes for itself. */
export interface BreakwaterFunctionSpec {
  /** Entry used when the props name none (relative to the repo root). */
  readonly defaultEntry: string;
  readonly defaultTimeout: Duration;
  readonly description: string;
  /** `POWERTOOLS_SERVICE_NAME`, e.g. 'breakwater-gateway'. */
  readonly serviceName: string;
  /** When set, synthesis with bundling fails with this message if the entry file is missing. */
  readonly missingEntryMessage?: (entry: string) => string;
}

/**
 * Fails synthesis early, with a message that says what to do, when a file the bundle needs is
 * missing. Only when esbuild actually runs: tests that skip bundling synthesize without it.
 */
export function requireWhenBundling(scope: Construct, path: string, message: string): void {
  if (Stack.of(scope).bundlingRequired && !existsSync(path)) throw new Error(message);
}

/**
 * The esbuild settings every Breakwater function shares: an ESM bundle for Node 22, minified,
 * with source maps, the runtime's AWS SDK left out, and the routing config copied next to it.
 */
export function breakwaterBundling(configPath: string, bundleAwsSdk = false): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    mainFields: ['module', 'main'],
    banner: ESM_REQUIRE_BANNER,
    target: 'node22',
    minify: true,
    sourceMap: true,
    sourceMapMode: SourceMapMode.DEFAULT,
    sourcesContent: false,
    // Keep only @aws-sdk/* external (the runtime ships it). @smithy/* is bundled:
    // the X-Ray SDK behind Powertools Tracer requires
    // @smithy/service-error-classification, and bundling it pins the version
    // we test with instead of whatever the runtime happens to carry.
    ...(bundleAwsSdk ? { bundleAwsSDK: true } : { externalModules: ['@aws-sdk/*'] }),
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir: string, outputDir: string) => [
        copyCommand(configSource(inputDir, configPath), `${outputDir}/${BUNDLED_CONFIG_FILE}`),
      ],
    },
  };
}

/**
 * What the gateway and the worker functions have in common: creates `LogGroup` and `Function`
 * as children of this construct (ids kept stable: renaming them would replace deployed
 * resources): an ESM bundle (esbuild), arm64, Node 22, X-Ray active tracing, its own log group,
 * the routing config shipped in the bundle.
 */
export abstract class BreakwaterNodejsFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  /** Absolute path of the routing config copied into the bundle. */
  readonly configPath: string;
  readonly timeout: Duration;

  protected constructor(scope: Construct, id: string, props: BreakwaterFunctionOptions, spec: BreakwaterFunctionSpec) {
    super(scope, id);

    const entry = fromRepoRoot(props.entry ?? spec.defaultEntry);
    this.configPath = fromRepoRoot(props.configPath ?? DEFAULT_CONFIG_PATH);
    this.timeout = props.timeout ?? spec.defaultTimeout;

    if (spec.missingEntryMessage) requireWhenBundling(this, entry, spec.missingEntryMessage(entry));
    requireWhenBundling(
      this,
      this.configPath,
      `Breakwater routing config not found at ${this.configPath}; it is copied into the Lambda bundle. ` +
        'Create it or pass the configPath stack prop.',
    );

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Default removal policy (RETAIN): logs outlive a stack deletion.
    });

    this.function = new NodejsFunction(this, 'Function', {
      description: spec.description,
      entry,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE_PATH,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: this.timeout,
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: spec.serviceName,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        BREAKWATER_CONFIG: `${LAMBDA_TASK_ROOT}/${BUNDLED_CONFIG_FILE}`,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: breakwaterBundling(this.configPath, props.bundleAwsSdk),
    });
  }
}

/**
 * Path of the config as seen by the bundling step. Inside the project root it is
 * addressed relative to inputDir so that Docker bundling (/asset-input) works too;
 * outside it, the absolute host path is used (local bundling only).
 */
function configSource(inputDir: string, configPath: string): string {
  const rel = relative(REPO_ROOT, configPath);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return configPath;
  return `${inputDir}/${rel.split(sep).join('/')}`;
}

/** POSIX shell (local bundling on Linux/macOS, or inside the Docker bundling image). */
function copyCommand(from: string, to: string): string {
  return `cp ${shellQuote(from)} ${shellQuote(to)}`;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
