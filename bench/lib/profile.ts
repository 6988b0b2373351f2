// A CPU profile of workerd through wrangler dev's inspector port (the Chrome DevTools protocol's
// Profiler domain): where the Worker and its Durable Objects spend their CPU, by function. Through
// the `ws` package: Node 20's experimental WebSocket fails the handshake with wrangler's proxy.
import WebSocket from 'ws';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  self_ms: number;
  share: number;
  /** The caller that accounts for most of its self time: what to look at first. */
  via: string;
}

export interface Profiler {
  stop(): Promise<{ total_ms: number; idle_ms: number; top: HotFunction[] }>;
}

/** Starts sampling every `intervalUs` µs; `stop()` ends it and returns the hottest functions. */
export async function startProfile(inspectorPort: number, intervalUs = 200): Promise<Profiler> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  if (!targets[0]) throw new Error(`no inspector target on port ${inspectorPort}`);
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((ok, fail) => {
    ws.once('open', ok);
    ws.once('error', fail);
  });
  let id = 0;
  const waiting = new Map<number, (r: any) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result ?? msg.error);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<any>((resolve) => {
      waiting.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: intervalUs });
  await send('Profiler.start');
  return {
    async stop() {
      const { profile } = (await send('Profiler.stop')) as { profile: Profile };
      ws.close();
      return summarize(profile);
    },
  };
}

function summarize(p: Profile): { total_ms: number; idle_ms: number; top: HotFunction[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<
    string,
    { name: string; where: string; us: number; callers: Map<string, number> }
  >();
  let total = 0;
  let idle = 0;
  p.samples.forEach((nodeId, i) => {
    const us = p.timeDeltas[i] ?? 0;
    const f = byId.get(nodeId)!.callFrame;
    total += us;
    if (f.functionName === '(idle)' || f.functionName === '(program)') idle += us;
    const where = `${f.url.split('/').pop() ?? ''}:${f.lineNumber + 1}`;
    const key = `${f.functionName} ${where}`;
    const entry = self.get(key) ?? {
      name: f.functionName || '(anonymous)',
      where,
      us: 0,
      callers: new Map<string, number>(),
    };
    entry.us += us;
    const up = byId.get(parent.get(nodeId) ?? -1)?.callFrame;
    const caller = up ? `${up.functionName || '(anonymous)'}:${up.lineNumber + 1}` : '';
    entry.callers.set(caller, (entry.callers.get(caller) ?? 0) + us);
    self.set(key, entry);
  });
  const busy = Math.max(1, total - idle);
  const top = [...self.values()]
    .filter((f) => f.name !== '(idle)' && f.name !== '(program)')
    .sort((a, b) => b.us - a.us)
    .slice(0, 15)
    .map((f) => ({
      name: f.name,
      where: f.where,
      self_ms: Math.round(f.us / 100) / 10,
      share: Math.round((f.us / busy) * 1000) / 1000,
      via: [...f.callers].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '',
    }));
  return { total_ms: Math.round(total / 1000), idle_ms: Math.round(idle / 1000), top };
}
