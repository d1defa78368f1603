// The config package's public face: profile types, loading, saving, keys, identity, IPv4 text.
export { ProfileError, type ProfileIssue } from '../../../src-shared/lib/errors.js';
export {
  loadProfile,
  readProfile,
  parseProfileText,
  saveProfile,
  type LoadedProfile,
  type SaveOptions,
} from './load.js';
export { validateProfile } from './validate.js';
export {
  DEFAULT_PROFILE_PATH,
  PROFILE_DEFAULTS,
  PROFILE_LIMITS,
  RESERVED_KEYS,
  toProfileJson,
  type AdapterConfig,
  type PeerConfig,
  type PeerJson,
  type Profile,
  type ProfileJson,
  type ReservedKey,
} from './schema.js';
export { identityFromPublicKey, isIdentity } from '../../../src-shared/lib/identity.js';
export {
  formatKey,
  generatePrivateKey,
  KeyFormatError,
  parseKey,
  publicKeyFromPrivate,
} from '../../../src-shared/lib/keys.js';
export * from '../../../src-shared/lib/ip/ipv4.js';
