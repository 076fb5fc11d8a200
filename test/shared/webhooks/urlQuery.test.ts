import { joinUrl, splitUrl } from '../../../shared/webhooks/urlQuery';

const logicApps = 'https://prod-07.westeurope.logic.azure.com:443/workflows/6c1f/triggers/manual/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zx9-SAS_signature';

it('replaces every query value, keeps the names, and joins back to the exact URL', () => {
  const { redacted, tail } = splitUrl(logicApps);
  expect(redacted).toBe('https://prod-07.westeurope.logic.azure.com/workflows/6c1f/triggers/manual/paths/invoke?api-version=***&sp=***&sv=***&sig=***');
  expect(redacted).not.toContain('Zx9');
  expect(tail).toBe('?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zx9-SAS_signature');
  expect(joinUrl(redacted, tail)).toBe(new URL(logicApps).href);
  expect(splitUrl(redacted).redacted).toBe(redacted);
});

it('hides a bare parameter and a fragment entirely, and leaves a URL without a query alone', () => {
  expect(splitUrl('https://h.example/p?TOKEN123&a=1#frag')).toEqual({ redacted: 'https://h.example/p?***&a=***#***', tail: '?TOKEN123&a=1#frag' });
  expect(splitUrl('https://h.example/p')).toEqual({ redacted: 'https://h.example/p', tail: '' });
  expect(joinUrl('https://h.example/p?***&a=***#***', '?TOKEN123&a=1#frag')).toBe('https://h.example/p?TOKEN123&a=1#frag');
});
