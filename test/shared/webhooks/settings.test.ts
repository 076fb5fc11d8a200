import { loadSettings, SettingsError } from '../../../shared/settings';

// The settings the webhook, outbound-call and lifecycle features read: defaults, units, and rejections.

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
  expect(s.outbound).toEqual({ allowPrivateNetworks: false });
  expect(s.identityProviders.allowedPrivateHosts).toEqual([]);
  expect(s.lifecycle).toEqual({ expiryWarningMs: 14 * 86_400_000, activeWindowMs: 24 * 3_600_000, reminderMs: 86_400_000 });
  expect(Object.isFrozen(s.outbound) && Object.isFrozen(s.lifecycle)).toBe(true);
});

it('reads the four settings', () => {
  const s = loadSettings({
    ...valid,
    CREDMAN_ALLOW_PRIVATE_NETWORKS: 'true',
    CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS: 'keycloak.corp.internal, 10.20.0.0/16,127.0.0.1',
    CREDMAN_EXPIRY_WARNING_DAYS: '30',
    CREDMAN_LIFECYCLE_ACTIVE_WINDOW_HOURS: '2',
  });
  expect(s.outbound.allowPrivateNetworks).toBe(true);
  expect(s.identityProviders.allowedPrivateHosts).toEqual(['keycloak.corp.internal', '10.20.0.0/16', '127.0.0.1']);
  expect(s.lifecycle).toEqual({ expiryWarningMs: 30 * 86_400_000, activeWindowMs: 2 * 3_600_000, reminderMs: 86_400_000 });
});

it('names each malformed one', () => {
  let error: unknown;
  try {
    loadSettings({
      ...valid,
      CREDMAN_ALLOW_PRIVATE_NETWORKS: 'yes',
      CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS: 'idp.corp, *.corp.internal',
      CREDMAN_EXPIRY_WARNING_DAYS: '0',
      CREDMAN_LIFECYCLE_ACTIVE_WINDOW_HOURS: '1.5',
    });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(SettingsError);
  expect((error as SettingsError).problems.map((p) => p.split(':')[0]).sort()).toEqual([
    'CREDMAN_ALLOW_PRIVATE_NETWORKS',
    'CREDMAN_EXPIRY_WARNING_DAYS',
    'CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS',
    'CREDMAN_LIFECYCLE_ACTIVE_WINDOW_HOURS',
  ]);
  // The problem says which entry, not what it holds.
  expect((error as SettingsError).message).not.toContain('*.corp');
});

it('refuses the old name of the private-networks switch, naming the new one, instead of ignoring it', () => {
  expect(() => loadSettings({ ...valid, CREDMAN_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' })).toThrow(/CREDMAN_WEBHOOK_ALLOW_PRIVATE_NETWORKS: renamed; set CREDMAN_ALLOW_PRIVATE_NETWORKS/);
});
