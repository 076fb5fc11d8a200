import { loadSettings, SettingsError } from '../../../shared/settings';

// The settings the webhook and lifecycle features read: defaults, units, and rejections.

const valid = {
  CREDMAN_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  CREDMAN_KEK_PROVIDER: 'local',
  CREDMAN_AUTH_ISSUERS: JSON.stringify([{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/keys' }]),
  CREDMAN_AUTH_AUDIENCES: 'api://credman',
  CREDMAN_APP_TENANT_ID: '11111111-1111-4111-8111-111111111111',
  CREDMAN_APP_OBJECT_ID: '22222222-2222-4222-8222-222222222222',
  WEBSITE_HOSTNAME: 'credman.example',
};

it('defaults to public destinations only, a 14-day warning window and a 24-hour active window', () => {
  const s = loadSettings(valid);
  expect(s.webhooks).toEqual({ allowPrivateNetworks: false });
  expect(s.lifecycle).toEqual({ expiryWarningMs: 14 * 86_400_000, activeWindowMs: 24 * 3_600_000, reminderMs: 86_400_000 });
  expect(Object.isFrozen(s.webhooks) && Object.isFrozen(s.lifecycle)).toBe(true);
});

it('reads the three settings', () => {
  const s = loadSettings({
    ...valid,
    CREDMAN_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    CREDMAN_EXPIRY_WARNING_DAYS: '30',
    CREDMAN_LIFECYCLE_ACTIVE_WINDOW_HOURS: '2',
  });
  expect(s.webhooks.allowPrivateNetworks).toBe(true);
  expect(s.lifecycle).toEqual({ expiryWarningMs: 30 * 86_400_000, activeWindowMs: 2 * 3_600_000, reminderMs: 86_400_000 });
});

it('names each malformed one', () => {
  let error: unknown;
  try {
    loadSettings({ ...valid, CREDMAN_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'yes', CREDMAN_EXPIRY_WARNING_DAYS: '0', CREDMAN_LIFECYCLE_ACTIVE_WINDOW_HOURS: '1.5' });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(SettingsError);
  expect((error as SettingsError).problems.map((p) => p.split(':')[0]).sort()).toEqual([
    'CREDMAN_EXPIRY_WARNING_DAYS',
    'CREDMAN_LIFECYCLE_ACTIVE_WINDOW_HOURS',
    'CREDMAN_WEBHOOK_ALLOW_PRIVATE_NETWORKS',
  ]);
});
