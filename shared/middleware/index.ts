export { bodySizeLimit, type BodySizeLimitOptions } from './bodySizeLimit';
export { openAiErrorResponder, type ErrorResponderOptions, type ErrorShape } from './openAiErrorResponder';
export { publishMetrics } from './publishMetrics';
