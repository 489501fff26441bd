import { existsSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { Stack, type Duration } from 'aws-cdk-lib';
import { Alias, Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
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
 * Node.js 24: the current Lambda LTS runtime (cdk-nag's AwsSolutions-L1 asks for the latest).
 * The bundles target node22 syntax, which 24 runs unchanged.
 */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;
/**
 * 1024 MB: Lambda's CPU share grows with memory, and the gateway's cost per request is mostly
 * JSON and SSE work (RSS stays near 110 MB). Halving it to 512 MB halves the price per ms but
 * roughly doubles the CPU-bound part of each request; see the README's cost note.
 */
export const DEFAULT_MEMORY_MB = 1024;
/** The alias every caller (API Gateway, SQS) invokes; CodeDeploy shifts it between versions. */
export const LIVE_ALIAS = 'live';

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
  /** @default {@link DEFAULT_MEMORY_MB} */
  readonly memorySize?: number;
  /**
   * Executions reserved for this function: it can neither starve the other functions of the
   * account's concurrency nor be starved by them; it is also its ceiling.
   * @default undefined — no reservation (the account's unreserved pool)
   */
  readonly reservedConcurrency?: number;
  /**
   * CloudWatch namespace of the function's own metrics (POWERTOOLS_METRICS_NAMESPACE).
   * @default 'Breakwater'
   */
  readonly metricsNamespace?: string;
  readonly timeout?: Duration;
  /** Default: ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Default: INFO */
  readonly logLevel?: LogLevel;
  /** Extra environment variables (merged over the defaults). */
  readonly environment?: Record<string, string>;
  /**
   * Bundle the AWS SDK v3 (tree-shaken, minified ESM) instead of using the copy in the
   * Lambda runtime. Measured with `npm run bench:cold` (CPU time of the gateway's cold import,
   * median of 10): 346 ms with the runtime's SDK, 239 ms bundled: the runtime's copy is
   * hundreds of CommonJS files node must resolve and compile one by one. It also pins the
   * SDK the tests ran with. The price: a bundle ~450 KB larger, and SDK fixes need a deploy.
   * @default true
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
  /** More shell commands after esbuild, run with the project (`inputDir`) and the bundle (`outputDir`). */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
}

/**
 * Fails synthesis early, with a message that says what to do, when a file the bundle needs is
 * missing. Only when esbuild actually runs: tests that skip bundling synthesize without it.
 */
export function requireWhenBundling(scope: Construct, path: string, message: string): void {
  if (Stack.of(scope).bundlingRequired && !existsSync(path)) throw new Error(message);
}

/**
 * The esbuild settings every Breakwater function shares: an ESM bundle (node22 syntax), minified,
 * with source maps, the AWS SDK bundled in (or left to the runtime), and the routing config
 * copied next to it.
 */
export function breakwaterBundling(
  configPath: string,
  bundleAwsSdk = true,
  afterBundling: (inputDir: string, outputDir: string) => string[] = () => [],
): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    mainFields: ['module', 'main'],
    banner: ESM_REQUIRE_BANNER,
    target: 'node22',
    minify: true,
    sourceMap: true,
    sourceMapMode: SourceMapMode.DEFAULT,
    sourcesContent: false,
    // Bundled by default (faster cold import, see `bundleAwsSdk`). Left to the runtime, only
    // @aws-sdk/* is external: @smithy/* stays bundled, as the X-Ray SDK behind Powertools
    // Tracer requires @smithy/service-error-classification at a version we test with.
    ...(bundleAwsSdk ? { bundleAwsSDK: true } : { externalModules: ['@aws-sdk/*'] }),
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir: string, outputDir: string) => [
        copyCommand(configSource(inputDir, configPath), `${outputDir}/${BUNDLED_CONFIG_FILE}`),
        ...afterBundling(inputDir, outputDir),
      ],
    },
  };
}

/**
 * What the gateway and the worker functions have in common: creates `LogGroup` and `Function`
 * as children of this construct (ids kept stable: renaming them would replace deployed
 * resources): an ESM bundle (esbuild), arm64, Node 24, X-Ray active tracing, its own log group,
 * the routing config shipped in the bundle, and a `live` alias on the current version that every
 * caller invokes, so a release can shift traffic between versions (see CanaryRelease).
 */
export abstract class BreakwaterNodejsFunction extends Construct {
  readonly function: NodejsFunction;
  /** The `live` alias: invoke this, not {@link function}. */
  readonly alias: Alias;
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
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      timeout: this.timeout,
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: spec.serviceName,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'Breakwater',
        BREAKWATER_CONFIG: `${LAMBDA_TASK_ROOT}/${BUNDLED_CONFIG_FILE}`,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: breakwaterBundling(this.configPath, props.bundleAwsSdk, spec.afterBundling),
    });
    this.alias = new Alias(this, 'LiveAlias', { aliasName: LIVE_ALIAS, version: this.function.currentVersion });
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
