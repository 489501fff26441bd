import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseTransferMode,
  ResponseType,
  RestApi,
  type IResource,
  type MethodDeploymentOptions,
  DomainName,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigateway';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BINARY_MEDIA_TYPES } from '../shared/api/binaryMediaTypes.js';
import { GatewayWebAcl } from './GatewayWebAcl.js';

/**
 * The OpenAI-compatible routes exposed explicitly (everything else goes through {proxy+}).
 * Adding a route is one line here: it is created with the same streaming Lambda integration,
 * ANY on every resource on its way, the stage's logging and throttling (or its own, below).
 */
export const GATEWAY_ROUTES = [
  { method: 'POST', path: '/v1/chat/completions' },
  { method: 'POST', path: '/v1/responses' },
  { method: 'GET', path: '/v1/responses/{id}' },
  { method: 'DELETE', path: '/v1/responses/{id}' },
  { method: 'POST', path: '/v1/embeddings' },
  { method: 'GET', path: '/v1/models' },
  { method: 'POST', path: '/v1/tasks' },
  { method: 'GET', path: '/v1/tasks/{id}' },
  { method: 'DELETE', path: '/v1/tasks/{id}' },
  { method: 'POST', path: '/v1/messages' },
  { method: 'ANY', path: '/v1/tools/{service}/{proxy+}' },
  { method: 'POST', path: '/mcp' },
  { method: 'GET', path: '/health' },
] as const;

export const DEFAULT_STAGE_NAME = 'prod';
export const DEFAULT_THROTTLING_RATE_LIMIT = 100;
export const DEFAULT_THROTTLING_BURST_LIMIT = 200;
/** Seconds a client told "429 Too Many Requests" by API Gateway itself should wait. */
export const THROTTLED_RETRY_AFTER_SECONDS = 1;

export interface MethodThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * Methods throttled below the stage's limits, by 'VERB /path'. Chat, responses and embeddings
 * take the stage's limits (they are what the API is for); polling and the health check are
 * cheap for a client to loop on, so they get less, and task submission is bounded by what the
 * worker drains.
 */
export const DEFAULT_METHOD_THROTTLING: Readonly<Record<string, MethodThrottle>> = {
  'POST /v1/tasks': { rateLimit: 50, burstLimit: 100 },
  'GET /v1/tasks/{id}': { rateLimit: 50, burstLimit: 100 },
  'GET /health': { rateLimit: 10, burstLimit: 20 },
};

export interface GatewayApiProps {
  /**
   * The gateway function; every route is a Lambda proxy (AWS_PROXY) integration to it in
   * response streaming mode (invoked with InvokeWithResponseStream): it must be a
   * response-streaming handler (`awslambda.streamifyResponse`).
   */
  readonly handler: IFunction;
  /**
   * Timeout of every route's streaming integration (at most 15 minutes); give it at least the
   * function's timeout, so the function always ends first. Default: 29 s (API Gateway's default)
   */
  readonly integrationTimeout?: Duration;
  /** Default: 'prod' */
  readonly stageName?: string;
  /** Default: 'breakwater-gateway' */
  readonly restApiName?: string;
  /**
   * Per-method throttling over the stage's, by 'VERB /path' of {@link GATEWAY_ROUTES}.
   * @default {@link DEFAULT_METHOD_THROTTLING}
   */
  readonly methodThrottling?: Readonly<Record<string, MethodThrottle>>;
  /**
   * Execution logging (API Gateway's own log of each request's processing). ERROR logs only
   * failures, without bodies or headers; INFO would log far more for every request.
   * Needs the account's API Gateway CloudWatch role.
   * @default MethodLoggingLevel.ERROR
   */
  readonly executionLogLevel?: MethodLoggingLevel;
  /**
   * WAFv2 web ACL on the stage; `false` for none.
   * @default a per-IP rate rule of 2000 requests per 5 minutes and the AWS managed rule sets
   */
  readonly webAcl?: false | { readonly rateLimitPer5Min?: number };
  /** Steady-state requests per second for the stage. Default: 100 */
  readonly throttlingRateLimit?: number;
  /** Burst capacity for the stage. Default: 200 */
  readonly throttlingBurstLimit?: number;
  /** Retention of the access log group. Default: ONE_MONTH */
  readonly accessLogRetention?: RetentionDays;
  /**
   * Create the account-level CloudWatch role API Gateway needs to write access
   * logs. Turn off if the account already has one configured. Default: true
   */
  readonly cloudWatchRole?: boolean;
  /**
   * A custom domain for the API (a regional ACM certificate in the stack's region), mapped at
   * `basePath` (empty: the domain's root). The function routes on the matched resource, so
   * `https://<domain>/<basePath>/v1/...` works; the default execute-api endpoint is then disabled,
   * so the WAF and the domain are the only way in.
   * @default none: the execute-api endpoint
   */
  readonly domain?: { readonly domainName: string; readonly certificateArn: string; readonly basePath?: string };
}

/**
 * REST API in front of the gateway function.
 *
 * There is deliberately no API Gateway authorizer: the Authorization header
 * (virtual key) reaches the function untouched through the proxy integration
 * and the function authenticates it itself.
 */
export class GatewayApi extends Construct {
  readonly api: RestApi;
  readonly accessLogGroup: LogGroup;
  readonly webAcl: GatewayWebAcl | undefined;

  constructor(scope: Construct, id: string, props: GatewayApiProps) {
    super(scope, id);

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? RetentionDays.ONE_MONTH,
    });

    // One integration and one API-scoped invoke permission for all methods keeps
    // the function's resource policy small. STREAM: API Gateway invokes the function with
    // InvokeWithResponseStream (the `response-streaming-invocations` URI), sends the head once the
    // function's prelude arrives and the body as it comes: SSE works, and neither the 29 s
    // integration limit nor the 10 MB payload limit of buffered responses applies.
    const integration = new LambdaIntegration(props.handler, {
      proxy: true,
      scopePermissionToMethod: false,
      responseTransferMode: ResponseTransferMode.STREAM,
      timeout: props.integrationTimeout,
    });

    this.api = new RestApi(this, 'RestApi', {
      restApiName: props.restApiName ?? 'breakwater-gateway',
      description: 'Breakwater: OpenAI-compatible resilient LLM gateway',
      endpointTypes: [EndpointType.REGIONAL],
      // Tool proxy uploads (files, images...) reach the function base64-encoded, bytes intact.
      binaryMediaTypes: [...BINARY_MEDIA_TYPES],
      disableExecuteApiEndpoint: props.domain !== undefined,
      // minCompressionSize left unset: payload compression stays disabled.
      cloudWatchRole: props.cloudWatchRole ?? true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      defaultMethodOptions: { authorizationType: AuthorizationType.NONE, apiKeyRequired: false },
      deployOptions: {
        stageName: props.stageName ?? DEFAULT_STAGE_NAME,
        tracingEnabled: true,
        metricsEnabled: true,
        dataTraceEnabled: false, // would log prompts and Authorization headers
        loggingLevel: props.executionLogLevel ?? MethodLoggingLevel.ERROR,
        methodOptions: methodOptions(props.methodThrottling ?? DEFAULT_METHOD_THROTTLING),
        throttlingRateLimit: props.throttlingRateLimit ?? DEFAULT_THROTTLING_RATE_LIMIT,
        throttlingBurstLimit: props.throttlingBurstLimit ?? DEFAULT_THROTTLING_BURST_LIMIT,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(),
      },
    });

    if (props.domain) {
      const domain = new DomainName(this, 'Domain', {
        domainName: props.domain.domainName,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
        endpointType: EndpointType.REGIONAL,
        securityPolicy: SecurityPolicy.TLS_1_2,
      });
      domain.addBasePathMapping(this.api, { basePath: props.domain.basePath || undefined, stage: this.api.deploymentStage });
    }

    // Catch-alls: '/' and '/{proxy+}' so unknown paths reach the function (404 JSON).
    this.api.root.addMethod('ANY', integration);
    this.api.root.addProxy({ defaultIntegration: integration, anyMethod: true });

    // Explicit routes. Every resource created on the way (including /v1 and
    // /v1/chat) also gets ANY, so a request that matches an explicit resource
    // with another method (GET /v1/chat/completions) still reaches the function
    // instead of API Gateway's 403 "Missing Authentication Token".
    const withAny = new Set<IResource>();
    for (const route of GATEWAY_ROUTES) {
      let resource: IResource = this.api.root;
      for (const part of route.path.split('/').filter(Boolean)) {
        resource = resource.getResource(part) ?? resource.addResource(part);
        if (!withAny.has(resource)) {
          resource.addMethod('ANY', integration);
          withAny.add(resource);
        }
      }
      // An ANY route (a tool proxy's `{proxy+}`) already has its method from the loop above.
      if ((route.method as string) !== 'ANY') resource.addMethod(route.method, integration);
    }

    // Errors produced by API Gateway itself (throttling, integration timeout,
    // unmatched routes) in the OpenAI error shape, so SDK clients parse them.
    this.api.addGatewayResponse('Default4xx', {
      type: ResponseType.DEFAULT_4XX,
      templates: { 'application/json': openAiErrorTemplate('invalid_request_error') },
    });
    this.api.addGatewayResponse('Default5xx', {
      type: ResponseType.DEFAULT_5XX,
      templates: { 'application/json': openAiErrorTemplate('api_error') },
    });
    // API Gateway's own 429 (stage, method or account throttling) tells clients when to retry,
    // as the function's 429s do: OpenAI SDKs honour Retry-After.
    this.api.addGatewayResponse('Throttled', {
      type: ResponseType.THROTTLED,
      statusCode: '429',
      responseHeaders: { 'Retry-After': `'${THROTTLED_RETRY_AFTER_SECONDS}'` },
      templates: {
        'application/json': openAiErrorTemplate('rate_limit_error', { code: 'rate_limit_exceeded' }),
      },
    });
    this.api.addGatewayResponse('NotFound', {
      type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
      statusCode: '404',
      templates: {
        'application/json': openAiErrorTemplate('invalid_request_error', {
          message: 'Not found',
          code: 'not_found',
        }),
      },
    });

    this.webAcl =
      props.webAcl === false
        ? undefined
        : new GatewayWebAcl(this, 'Waf', {
            stageArn: this.api.deploymentStage.stageArn,
            rateLimitPer5Min: props.webAcl?.rateLimitPer5Min,
            metricPrefix: props.restApiName ?? 'breakwater-gateway',
          });
  }

  /** Invoke URL of the stage, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/prod/ */
  get url(): string {
    return this.api.url;
  }

  /** Base URL for OpenAI SDKs (`baseURL`), i.e. the stage URL + 'v1'. */
  get openAiBaseUrl(): string {
    return this.api.urlForPath('/v1');
  }
}

/** 'POST /v1/tasks' → API Gateway's method option key '/v1/tasks/POST'. */
function methodOptions(throttling: Readonly<Record<string, MethodThrottle>>): Record<string, MethodDeploymentOptions> {
  const known = new Set(GATEWAY_ROUTES.map((route) => `${route.method} ${route.path}`));
  return Object.fromEntries(
    Object.entries(throttling).map(([route, throttle]) => {
      if (!known.has(route)) throw new Error(`method throttling for "${route}", which is not one of GATEWAY_ROUTES`);
      const [method, path] = route.split(' ') as [string, string];
      return [`${path}/${method}`, { throttlingRateLimit: throttle.rateLimit, throttlingBurstLimit: throttle.burstLimit }];
    }),
  );
}

/** VTL body for API Gateway-generated errors; $context.error.messageString is already JSON-quoted. */
function openAiErrorTemplate(type: string, fixed: { message?: string; code?: string } = {}): string {
  const message = fixed.message === undefined ? '$context.error.messageString' : JSON.stringify(fixed.message);
  const code = fixed.code ?? '$context.error.responseType';
  return (
    `{"error":{"message":${message},"type":"${type}","param":null,"code":"${code}"},` +
    `"request_id":"$context.requestId"}`
  );
}

function accessLogFormat(): AccessLogFormat {
  // No headers are logged: the Authorization header carries the virtual key.
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: AccessLogField.contextRequestId(),
      extendedRequestId: AccessLogField.contextExtendedRequestId(),
      xrayTraceId: AccessLogField.contextXrayTraceId(),
      requestTime: AccessLogField.contextRequestTime(),
      ip: AccessLogField.contextIdentitySourceIp(),
      userAgent: AccessLogField.contextIdentityUserAgent(),
      httpMethod: AccessLogField.contextHttpMethod(),
      resourcePath: AccessLogField.contextResourcePath(),
      path: AccessLogField.contextPath(),
      protocol: AccessLogField.contextProtocol(),
      status: AccessLogField.contextStatus(),
      responseLength: AccessLogField.contextResponseLength(),
      responseLatency: AccessLogField.contextResponseLatency(),
      integrationLatency: AccessLogField.contextIntegrationLatency(),
      integrationStatus: AccessLogField.contextIntegrationStatus(),
      errorType: AccessLogField.contextErrorResponseType(),
      errorMessage: AccessLogField.contextErrorMessage(),
    }),
  );
}
