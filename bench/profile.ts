// Reads a V8 .cpuprofile (node --cpu-prof) and says where self time went, grouped the way a
// reader asks: by package (node_modules/<name>), credman's own files, Node internals, GC, idle.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

function bucketOf(frame: ProfileNode['callFrame']): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : `(native) ${frame.functionName}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm ${pkg[1]}`;
  if (url.startsWith('node:')) {
    const mod = url.slice(5);
    // Bundled dependencies (undici behind fetch/Request) are worth naming on their own.
    return mod.startsWith('internal/deps/') ? `node ${mod.split('/').slice(0, 3).join('/')}` : `node ${mod.replace(/^internal\//, '').split('/')[0]}`;
  }
  const own = /\/dist\/(.+)\.js$/.exec(url);
  return own ? `credman ${own[1]}` : url;
}

/** The functions with the most self time, with where they live. */
export function topFunctions(profile: CpuProfile, top = 15): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName === '(idle)') continue;
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${bucketOf(n.callFrame)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const busy = [...counts.values()].reduce((a, b) => a + b, 0) || 1;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${((v / busy) * 100).toFixed(1).padStart(5)} %  ${k}`);
}

export function summariseProfile(profile: CpuProfile, top = 15): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const n = byId.get(id);
    if (!n) continue;
    const bucket = bucketOf(n.callFrame);
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  }
  const total = profile.samples.length || 1;
  const busy = total - (counts.get('(idle)') ?? 0);
  return [...counts.entries()]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${((v / busy) * 100).toFixed(1).padStart(5)} %  ${k}`);
}
