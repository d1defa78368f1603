// The config package's public face: profile types, loading, saving, keys, identity, IPv4 text.
export { ProfileError, type ProfileIssue } from './errors.js';
export { loadProfile, readProfile, parseProfileText, saveProfile, type LoadedProfile, type SaveOptions } from './load.js';
export { validateProfile } from './validate.js';
export {
  DEFAULT_PROFILE_PATH, PROFILE_DEFAULTS, PROFILE_LIMITS, RESERVED_KEYS, toProfileJson,
  type AdapterConfig, type PeerConfig, type PeerJson, type Profile, type ProfileJson, type ReservedKey,
} from './schema.js';
export { identityFromPublicKey, isIdentity } from './identity.js';
export { formatKey, generatePrivateKey, KeyFormatError, parseKey, publicKeyFromPrivate } from './keys.js';
export * from './ipv4.js';
