import type { ConsentPage } from './consentService';

// The few HTML pages a browser sees during consent. Every value is escaped; the pages load
// nothing from elsewhere and forbid framing (clickjacking of the confirm button).

export const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
};

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(title)}</title><style>body{font:16px system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#222}
.warn{background:#fff4e5;border:1px solid #f0b060;padding:1em;border-radius:6px}button{font-size:1em;padding:.5em 1.2em;margin-right:.5em}</style>
</head><body><h1>${esc(title)}</h1>${body}</body></html>`;
}

export function renderPage(page: ConsentPage): string {
  switch (page.name) {
    case 'confirm': {
      const account = page.account.length
        ? `<ul>${page.account.map((f) => `<li>${esc(f.label)}: <strong>${esc(f.value)}</strong></li>`).join('')}</ul>`
        : `<p>${esc(page.providerName)} did not say which account. Check there which account you signed in with.</p>`;
      return layout(
        'Confirm this connection',
        `<div class="warn"><p>Only continue if you asked for this connection yourself and you know who requested it.
If someone sent you the link unasked, cancel: they would be able to act as your account.</p></div>
<dl><dt>Connection</dt><dd><strong>${esc(page.connectionId)}</strong></dd>
<dt>Provider</dt><dd><strong>${esc(page.providerName)}</strong> (${esc(page.providerId)})</dd>
<dt>Account you signed in with</dt><dd>${account}</dd>
<dt>Requested by</dt><dd><strong>${esc(page.requestedBy)}</strong></dd></dl>
<p>If you continue, credman's connection <strong>${esc(page.connectionId)}</strong> will be able to act as this account.</p>
<form method="post" action="confirm"><input type="hidden" name="consentCode" value="${esc(page.consentCode)}">
<button type="submit" name="decision" value="confirm">Connect my account</button>
<button type="submit" name="decision" value="cancel">Cancel</button></form>`,
      );
    }
    case 'done':
      return layout('Connected', `<p>Connection <strong>${esc(page.connectionId)}</strong> to ${esc(page.providerName)} is ready. You can close this window.</p>`);
    case 'failed':
      return layout('Sign-in not completed', `<p>${esc(page.message)}</p><p><small>Code: ${esc(page.code)}</small></p>`);
  }
}
