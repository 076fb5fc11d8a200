import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { ConsentOutcome } from '../shared/consent/consentService';
import { PAGE_HEADERS, renderPage } from '../shared/consent/pages';
import type { Call } from './lib/api';
import { queryValue, readCapped } from './lib/http';
import { lifecycleConnected } from './workflows/lifecycle/client';

// The browser side of consent: redirects and HTML pages, never JSON. Authorised by the
// single-use state or consent code each request carries, not by a bearer token.

const MAX_FORM_BYTES = 4096;

export async function consentStart({ request, services }: Call<'consentStart'>) {
  return render(request, await services.consent.start(queryValue(request, 'state') ?? ''));
}

/** New tokens: the connection's lifecycle starts, or wakes if it was waiting for this consent. */
async function afterOutcome(context: InvocationContext, outcome: ConsentOutcome): Promise<ConsentOutcome> {
  if (outcome.connected) await lifecycleConnected(context, outcome.connected);
  return outcome;
}

export async function consentCallback({ request, context, services }: Call<'consentCallback'>) {
  const q = (name: string) => queryValue(request, name);
  const outcome = await afterOutcome(context, await services.consent.callback({ state: q('state'), code: q('code'), error: q('error'), iss: q('iss') }, cookies(request)));
  return render(request, outcome);
}

export async function consentConfirm({ request, context, services }: Call<'consentConfirm'>) {
  const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  // Read up to the limit only (the body streams); a larger form is read as empty.
  const bytes = type === 'application/x-www-form-urlencoded' ? await readCapped(request, MAX_FORM_BYTES) : undefined;
  const form = new URLSearchParams(bytes?.toString('utf8') ?? '');
  const decision = await services.consent.decide(form.get('consentCode') ?? '', form.get('decision') === 'confirm', cookies(request));
  return render(request, await afterOutcome(context, decision));
}

function render(request: HttpRequest, outcome: ConsentOutcome): HttpResponseInit {
  const secure = new URL(request.url).protocol === 'https:';
  const cookies = (outcome.cookies ?? []).map((c) => ({ name: c.name, value: c.value, maxAge: c.maxAgeSeconds, path: '/api/consent', httpOnly: true, secure, sameSite: 'Lax' as const }));
  if (outcome.kind === 'redirect') return { status: 302, headers: { Location: outcome.location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' }, cookies };
  return { status: outcome.page.status, headers: PAGE_HEADERS, body: renderPage(outcome.page), cookies };
}

/** The request's cookies, read by name. */
function cookies(request: HttpRequest): (name: string) => string | undefined {
  const header = request.headers.get('cookie') ?? '';
  return (name) => {
    for (const part of header.split(';')) {
      const i = part.indexOf('=');
      if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
    }
    return undefined;
  };
}
