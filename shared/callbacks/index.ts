export {
  ADDRESS_CLASSES,
  ALLOWABLE_CLASSES,
  classifyAddress,
  isAddressAllowed,
  parseIpAddress,
  METADATA_ADDRESSES,
  type AddressClass,
} from './addressPolicy';
export {
  assertCallbackUrl,
  checkCallbackUrl,
  systemLookup,
  CALLBACK_URL_REFUSALS,
  type CallbackUrlCheck,
  type CallbackUrlRefusal,
  type CheckCallbackUrlOptions,
  type HostLookup,
  type ResolvedAddress,
} from './checkCallbackUrl';
export {
  classifyCallbackStatus,
  deliverCallback,
  CALLBACK_OUTCOMES,
  DEFAULT_CALLBACK_BACKOFF,
  USER_AGENT,
  type CallbackDelivery,
  type CallbackOutcome,
  type DeliverCallbackOptions,
} from './deliverCallback';
export {
  parseSignatureHeader,
  signPayload,
  verifySignature,
  SIGNATURE_HEADER,
  SIGNATURE_VERSION,
  type ParsedSignature,
  type SignedBody,
  type VerifySignatureOptions,
} from './signature';
export { callbackSigningSecretName, readCallbackSigningSecret } from './signingSecret';
