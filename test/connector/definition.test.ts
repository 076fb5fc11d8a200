import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDENTIFIER_PATTERN } from '../../shared/model/identifiers';
import { WEBHOOK_EVENTS } from '../../shared/model/webhookSchemas';
import { loadDefinition, PROPERTIES_FILE, rawDefinition, readJson, swaggerParser, type Definition } from './definition';

// The connector's files on their own: a valid OpenAPI 2.0 document with the extensions Logic Apps
// reads, and connection properties that ask Entra ID for the scope the definition declares.

interface ApiProperties {
  properties: {
    connectionParameters: Record<string, { type: string; oAuthSettings?: OAuthSettings }>;
    iconBrandColor: string;
    capabilities: string[];
    publisher: string;
    stackOwner: string;
    policyTemplateInstances?: Array<{ templateId: string; parameters: Record<string, unknown> }>;
  };
}
interface OAuthSettings {
  identityProvider: string;
  clientId: string;
  scopes: string[];
  redirectMode: string;
  redirectUrl: string;
  properties: Record<string, unknown>;
  customParameters: Record<string, { value: string }>;
}

let def: Definition;
beforeAll(async () => {
  def = await loadDefinition();
});

it('is a valid OpenAPI 2.0 document (swagger-parser), which a broken copy is not', async () => {
  const api = await swaggerParser('validate');
  expect(api.swagger).toBe('2.0');
  expect(api).toMatchObject({ basePath: '/api', schemes: ['https'], consumes: ['application/json'], produces: ['application/json'] });
  // A placeholder the importer replaces, never a real instance.
  expect(api.host).toBe('your-credman-app.azurewebsites.net');

  // The validator does refuse: a path parameter the path does not name.
  const broken = rawDefinition();
  const get = broken.paths['/providers/{providerId}/connections/{connectionId}'].get as { parameters: unknown[] };
  get.parameters = get.parameters.slice(1);
  const file = join(tmpdir(), `credman-broken-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(broken));
  try {
    await expect(swaggerParser('validate', file)).rejects.toThrow(/providerId/);
  } finally {
    rmSync(file, { force: true });
  }
});

it('has the actions, the trigger and its unsubscribe operation, each with a summary and an error response', () => {
  expect(def.operations.map((o) => `${o.method} ${o.path} ${o.operationId}`).sort()).toEqual(
    [
      'DELETE /webhooks/{subscriptionId} DeleteTriggerSubscription',
      'GET /providers ListProviders',
      'GET /providers/{providerId}/connections ListConnections',
      'GET /providers/{providerId}/connections/{connectionId} GetConnection',
      'POST /providers/{providerId}/connections/{connectionId}/getLoginLinks GetLoginLink',
      'POST /providers/{providerId}/connections/{connectionId}/confirmConsentCode ConfirmConsentCode',
      'POST /providers/{providerId}/connections/{connectionId}/token GetAccessToken',
      'POST /webhooks WhenConnectionNeedsReauthorization',
    ].sort(),
  );
  for (const op of def.operations) {
    expect(op.summary).toMatch(/^[A-Z][a-z]/);
    expect(op.raw.description).toEqual(expect.any(String));
    expect(op.responses.default.schema).toEqual(def.op('GetConnection').responses.default.schema);
    for (const p of op.parameters) if (p.in !== 'body') expect([p.name, p['x-ms-summary']]).toEqual([p.name, expect.any(String)]);
  }
  expect(def.op('GetAccessToken').summary).toBe('Get access token');
  expect(def.op('ListConnections').summary).toBe('List connections');
  expect(def.op('GetConnection').summary).toBe('Get connection');
  expect(def.op('GetLoginLink').summary).toBe('Get login link');
  expect(def.op('ConfirmConsentCode').summary).toBe('Confirm consent code');
  expect(def.op('DeleteTriggerSubscription').raw['x-ms-visibility']).toBe('internal');
});

it('declares the webhook trigger as Logic Apps expects it', () => {
  const trigger = def.op('WhenConnectionNeedsReauthorization');
  expect(trigger.summary).toBe('When a connection needs reauthorization');
  expect(trigger.raw['x-ms-trigger']).toBe('single');
  expect(trigger.responses['201'].headers).toEqual({ Location: expect.objectContaining({ type: 'string' }) });
  // The response schema, and the notification content, are the event the trigger receives.
  const event = trigger.responses['201'].schema;
  expect(event?.required).toEqual(['id', 'type', 'time', 'data']);
  expect((trigger.raw['x-ms-notification-content'] as { schema: unknown }).schema).toEqual(event);

  const body = trigger.parameters.find((p) => p.in === 'body');
  const props = body?.schema?.properties?.properties;
  expect(props?.properties?.url).toMatchObject({ type: 'string', 'x-ms-notification-url': true, 'x-ms-visibility': 'internal' });
  expect(props?.properties?.events).toMatchObject({ default: ['connection.reauthorizationRequired'], 'x-ms-visibility': 'internal' });
  // No secret: Logic Apps cannot check an HMAC; its callback URL carries its own signature.
  expect(props?.properties?.secret).toBeUndefined();
  expect(WEBHOOK_EVENTS).toContain('connection.reauthorizationRequired');

  // Logic Apps deletes the Location it got: /webhooks/{id} must be an operation of the connector.
  expect(def.op('DeleteTriggerSubscription').path).toBe('/webhooks/{subscriptionId}');
});

it('lets the designer pick a provider and a connection from lists (x-ms-dynamic-values)', () => {
  for (const name of ['GetAccessToken', 'ListConnections', 'GetConnection', 'GetLoginLink', 'ConfirmConsentCode']) {
    const provider = def.op(name).parameters.find((p) => p.name === 'providerId');
    expect(provider?.['x-ms-dynamic-values']).toMatchObject({ operationId: 'ListProviders', 'value-collection': 'value', 'value-path': 'name' });
  }
  for (const name of ['GetAccessToken', 'GetConnection', 'GetLoginLink', 'ConfirmConsentCode']) {
    const connection = def.op(name).parameters.find((p) => p.name === 'connectionId');
    expect(connection?.['x-ms-dynamic-values']).toMatchObject({ operationId: 'ListConnections', parameters: { providerId: { parameter: 'providerId' } } });
  }
  for (const op of def.operations) {
    for (const p of op.parameters.filter((x) => x.in === 'path')) {
      expect(p['x-ms-url-encoding']).toBe('single');
      expect(p.pattern).toBe(IDENTIFIER_PATTERN.source);
    }
  }
});

it('marks the paged lists pageable on nextLink', () => {
  for (const name of ['ListProviders', 'ListConnections']) {
    expect(def.op(name).raw['x-ms-pageable']).toEqual({ nextLinkName: 'nextLink' });
    expect(def.op(name).responses['200'].schema?.properties?.nextLink).toBeDefined();
  }
});

it('has connection properties for Entra ID that ask for the scope and resource the definition declares', () => {
  const props = readJson<ApiProperties>(PROPERTIES_FILE).properties;
  const security = (rawDefinition().securityDefinitions as Record<string, { type: string; flow: string; scopes: Record<string, string>; authorizationUrl: string; tokenUrl: string }>)['oauth2-auth'];
  expect(security).toMatchObject({ type: 'oauth2', flow: 'accessCode' });
  expect(new URL(security.authorizationUrl).hostname).toBe('login.microsoftonline.com');
  expect(rawDefinition().security).toEqual([{ 'oauth2-auth': Object.keys(security.scopes) }]);

  const token = props.connectionParameters.token;
  expect(token.type).toBe('oauthSetting');
  const oauth = token.oAuthSettings as OAuthSettings;
  expect(oauth).toMatchObject({ identityProvider: 'aad', redirectMode: 'GlobalPerConnector', redirectUrl: 'https://global.consent.azure-apim.net/redirect' });
  expect(oauth.clientId).toMatch(/^[0-9a-f-]{36}$/);
  expect(oauth.scopes).toEqual(Object.keys(security.scopes));
  const resource = oauth.customParameters.resourceUri.value;
  expect(oauth.scopes.every((s) => s.startsWith(`${resource}/`))).toBe(true);
  expect(oauth.properties.AzureActiveDirectoryResourceId).toBe(resource);
  expect(Object.keys(oauth.customParameters).sort()).toEqual(['enableOnbehalfOfLogin', 'loginUri', 'resourceUri', 'tenantId']);
  expect(oauth.customParameters.loginUri.value).toBe('https://login.microsoftonline.com');
  expect(oauth.customParameters.enableOnbehalfOfLogin.value).toBe(String(oauth.properties.IsOnbehalfofLoginSupported));

  expect(props.iconBrandColor).toMatch(/^#[0-9A-Fa-f]{6}$/);
  expect(props.capabilities).toEqual([]);
  expect(props).toMatchObject({ publisher: expect.any(String), stackOwner: expect.any(String) });
  // Paging through the connector: nextLink is rewritten to the connector's own URL.
  const paged = (props.policyTemplateInstances ?? []).filter((p) => p.templateId === 'updatenextlink').flatMap((p) => p.parameters['x-ms-apimTemplate-operationName'] as string[]);
  expect(paged.sort()).toEqual(
    def.operations
      .filter((o) => o.raw['x-ms-pageable'])
      .map((o) => o.operationId)
      .sort(),
  );
});
