import type { CpuProfile, CpuProfileNode } from './InspectorProfiler';

/** CPU of one component of the backend, per operation of the load. */
export interface ProfileRow {
  component: string;
  /** share of the samples that were not idle */
  percent: number;
  /** CPU milliseconds per operation */
  msPerOp: number;
}

const OURS = '/plugins/auth-backend-module-keycloak-oidc-provider/';
const EXAMPLE_BACKEND = '/packages/backend/';

/** The package a script belongs to, or undefined for Node's and V8's own. */
function componentOfUrl(url: string): string | undefined {
  if (url.includes(OURS)) return 'keycloak-oidc module (ours)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + 14).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  if (url.includes(EXAMPLE_BACKEND)) return 'example backend';
  return undefined;
}

/** What Node and V8 do on nobody's behalf in particular. */
function runtimeComponent(frame: CpuProfileNode['callFrame']): string {
  const { functionName, url } = frame;
  if (functionName === '(garbage collector)') return 'V8: garbage collection';
  if (functionName === '(program)') return 'V8/Node: native (program)';
  const area = /^node:(?:internal\/)?(?:deps\/)?([a-z_]+)/.exec(url)?.[1];
  if (area) return `Node: ${area.replace(/^_/, '')}`;
  return 'V8 builtins';
}

/**
 * Where a profile's CPU went, by component: each sample goes to the
 * package of the innermost frame that belongs to one (so `node:crypto`
 * under jose is jose's, a JSON.parse in knex is knex's); samples with no
 * package on their stack go to Node or V8. Idle samples are left out.
 */
export function profileBreakdown(
  profile: CpuProfile,
  operations: number,
): { rows: ProfileRow[]; busyMs: number; msPerOp: number } {
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const componentOfNode = new Map<number, string | undefined>();
  const attribute = (id: number): string | undefined => {
    if (componentOfNode.has(id)) return componentOfNode.get(id);
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') {
      componentOfNode.set(id, undefined);
      return undefined;
    }
    let component: string | undefined;
    for (let at: number | undefined = id; at !== undefined;) {
      const frame: CpuProfileNode = byId.get(at)!;
      component = componentOfUrl(frame.callFrame.url);
      if (component) break;
      at = parentOf.get(at);
    }
    component ??= runtimeComponent(node.callFrame);
    componentOfNode.set(id, component);
    return component;
  };

  const microsByComponent = new Map<string, number>();
  let busyMicros = 0;
  profile.samples.forEach((id, i) => {
    // a sample's time is the delta to the next one
    const micros = profile.timeDeltas[i + 1] ?? 0;
    const component = attribute(id);
    if (component === undefined) return;
    busyMicros += micros;
    microsByComponent.set(
      component,
      (microsByComponent.get(component) ?? 0) + micros,
    );
  });
  const rows = [...microsByComponent.entries()]
    .map(([component, micros]) => ({
      component,
      percent: (micros / busyMicros) * 100,
      msPerOp: micros / 1000 / operations,
    }))
    .sort((a, b) => b.percent - a.percent);
  return {
    rows,
    busyMs: busyMicros / 1000,
    msPerOp: busyMicros / 1000 / operations,
  };
}

/**
 * CPU under each named function (by V8's function name), per operation:
 * samples whose synchronous stack holds it. Work it awaits runs in later
 * ticks without it on the stack, so this is a lower bound.
 */
export function inclusiveMsPerOp(
  profile: CpuProfile,
  functionNames: string[],
  operations: number,
): Record<string, number> {
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const micros: Record<string, number> = Object.fromEntries(
    functionNames.map(name => [name, 0]),
  );
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined;) {
      const name = byId.get(at)!.callFrame.functionName;
      if (name in micros && !seen.has(name)) {
        seen.add(name);
        micros[name] += delta;
      }
      at = parentOf.get(at);
    }
  });
  return Object.fromEntries(
    Object.entries(micros).map(([name, m]) => [name, m / 1000 / operations]),
  );
}
