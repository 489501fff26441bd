import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  ResponseTransferMode,
  ResponseType,
  RestApi,
  type IResource,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The OpenAI-compatible routes exposed explicitly (everything else goes through {proxy+}). */
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
  { method: 'GET', path: '/health' },
] as const;

export const DEFAULT_STAGE_NAME = 'prod';
export const DEFAULT_THROTTLING_RATE_LIMIT = 100;
export const DEFAULT_THROTTLING_BURST_LIMIT = 200;

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
      restApiName: 'breakwater-gateway',
      description: 'Breakwater: OpenAI-compatible resilient LLM gateway',
      endpointTypes: [EndpointType.REGIONAL],
      // minCompressionSize left unset: payload compression stays disabled.
      cloudWatchRole: props.cloudWatchRole ?? true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      defaultMethodOptions: { authorizationType: AuthorizationType.NONE, apiKeyRequired: false },
      deployOptions: {
        stageName: props.stageName ?? DEFAULT_STAGE_NAME,
        tracingEnabled: true,
        metricsEnabled: true,
        dataTraceEnabled: false, // would log prompts and Authorization headers
        throttlingRateLimit: props.throttlingRateLimit ?? DEFAULT_THROTTLING_RATE_LIMIT,
        throttlingBurstLimit: props.throttlingBurstLimit ?? DEFAULT_THROTTLING_BURST_LIMIT,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(),
      },
    });

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
      resource.addMethod(route.method, integration);
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
