import type { AxiosInstance, CreateAxiosDefaults } from 'axios';

/**
 * An axios instance made on first use: axios and its dependencies load with the first outbound
 * call (an identity provider, a webhook), not at start, since a cold instance serving tokens from
 * storage makes none.
 */
export function lazyAxios(config: () => CreateAxiosDefaults): () => AxiosInstance {
  let instance: AxiosInstance | undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return () => (instance ??= (require('axios') as typeof import('axios')).create(config()));
}
