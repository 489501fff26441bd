export { bodySizeLimit, type BodySizeLimitOptions } from './bodySizeLimit';
export { jsonDepthLimit, textNestsDeeperThan, type JsonDepthLimitOptions } from './jsonDepthLimit';
export { openAiErrorResponder, type ErrorResponderOptions, type ErrorShape } from './openAiErrorResponder';
export { publishMetrics } from './publishMetrics';
export { redactResponses, type RedactResponsesOptions } from './redactResponses';
