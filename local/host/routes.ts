import type { BindingInfo, Registration } from './coreApi';

// Route templates as the Functions host reads them: literal segments match case-insensitively,
// `{name}` one segment, `{name?}` an optional last one, `{*name}` the rest. Like ASP.NET routing,
// more literal templates win over parameter ones, and catch-alls come last.

export interface HttpRoute {
  registration: Registration;
  trigger: BindingInfo;
  methods: string[];
  template: string;
  match(segments: string[]): Record<string, string> | undefined;
  rank: number[];
}

type Segment = { kind: 'literal'; text: string } | { kind: 'param'; name: string; optional: boolean } | { kind: 'catchAll'; name: string };

function parse(template: string): Segment[] {
  return template
    .split('/')
    .filter(Boolean)
    .map((s): Segment => {
      const m = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]+)?(\?)?\}$/.exec(s);
      if (!m) return { kind: 'literal', text: s.toLowerCase() };
      return m[1] ? { kind: 'catchAll', name: m[2] } : { kind: 'param', name: m[2], optional: Boolean(m[3]) };
    });
}

export function httpRoutes(registrations: Registration[]): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const registration of registrations) {
    const trigger = Object.values(registration.metadata.bindings).find((b) => b.type.toLowerCase() === 'httptrigger');
    if (!trigger) continue;
    const template = trigger.route ?? registration.metadata.name;
    const segments = parse(template);
    routes.push({
      registration,
      trigger,
      template,
      methods: (trigger.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase()),
      rank: segments.map((s) => (s.kind === 'literal' ? 0 : s.kind === 'param' ? 1 : 2)),
      match: (path) => matchSegments(segments, path),
    });
  }
  return routes.sort((a, b) => compareRank(a.rank, b.rank));
}

function compareRank(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function matchSegments(template: Segment[], path: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i];
    if (t.kind === 'catchAll') {
      params[t.name] = path.slice(i).join('/');
      return params;
    }
    const s = path[i];
    if (s === undefined) return t.kind === 'param' && t.optional && i === template.length - 1 ? params : undefined;
    if (t.kind === 'literal') {
      if (s.toLowerCase() !== t.text) return undefined;
    } else {
      if (s === '') return undefined;
      params[t.name] = s;
    }
  }
  return path.length === template.length ? params : undefined;
}
