export { DekCache, type DekCacheOptions } from './dekCache';
export { EnvelopeCipher, type RecordLocation } from './envelope';
export type { KeyWrapper, WrappedKey } from './keyWrapper';
export { KeyVaultKeyWrapper, type KeyVaultKeyWrapperOptions } from './keyVaultKeyWrapper';
export { LocalKeyWrapper } from './localKeyWrapper';
