export { bodySizeLimit, type BodySizeLimitOptions } from './bodySizeLimit';
export { openAiErrorResponder } from './openAiErrorResponder';
