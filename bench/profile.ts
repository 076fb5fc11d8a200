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
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  const own = /\/dist\/(.+)\.js$/.exec(url);
  return own ? `credman ${own[1]}` : url;
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
