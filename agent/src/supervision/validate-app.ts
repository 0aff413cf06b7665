import type { AppSpec, ServiceSpec } from '@pifleet/protocol';

/**
 * Checks the hub should already have made, repeated on the device because a desired state that
 * cannot converge must fail once with a clear `invalid_spec`, never loop: references to services,
 * networks and volumes the app does not define, and dependency cycles.
 */
export interface AppProblem {
  service?: string;
  message: string;
}

/** `service:<name>` network mode: shares another service's network namespace. */
export function networkModeService(spec: ServiceSpec): string | undefined {
  const m = spec.networkMode?.match(/^service:(.+)$/);
  return m?.[1];
}

/** Services `spec` must start after: its depends_on plus a `service:` network mode. */
export function startDependencies(spec: ServiceSpec): Record<string, ServiceSpec['dependsOn'][string]> {
  const deps = { ...spec.dependsOn };
  const shared = networkModeService(spec);
  if (shared !== undefined && !(shared in deps)) deps[shared] = 'service_started';
  return deps;
}

/** The first problem found in `app`, or undefined when it can be applied. */
export function validateApp(app: AppSpec): AppProblem | undefined {
  const names = new Set(Object.keys(app.services));
  for (const [name, spec] of Object.entries(app.services)) {
    for (const dep of Object.keys(startDependencies(spec))) {
      if (dep === name) return { service: name, message: `${name} depends on itself` };
      if (!names.has(dep)) return { service: name, message: `${name} depends on ${dep}, which the app does not define` };
    }
    for (const net of spec.networks) {
      if (net !== 'default' && !(net in app.networks)) return { service: name, message: `${name} joins network ${net}, which the app does not define` };
    }
    for (const m of spec.mounts) {
      if (m.type === 'volume' && !(m.source in app.volumes)) return { service: name, message: `${name} mounts volume ${m.source}, which the app does not define` };
    }
  }
  const cycle = findCycle(app);
  if (cycle) return { service: cycle[0], message: `dependency cycle: ${cycle.join(' -> ')}` };
  return undefined;
}

/** A dependency cycle as the names along it (first = last), or undefined. */
function findCycle(app: AppSpec): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const s = state.get(name);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    const spec = app.services[name];
    for (const dep of spec ? Object.keys(startDependencies(spec)).sort() : []) {
      const c = visit(dep);
      if (c) return c;
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(app.services).sort()) {
    const c = visit(name);
    if (c) return c;
  }
  return undefined;
}

/**
 * Service names in start order: every service after the services it depends on; ties by name
 * so the order is stable. Assumes no cycle (validateApp); a cycle's members come in name order.
 */
export function startOrder(app: AppSpec): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, stack: Set<string>): void => {
    if (seen.has(name) || stack.has(name) || !(name in app.services)) return;
    stack.add(name);
    for (const dep of Object.keys(startDependencies(app.services[name]!)).sort()) visit(dep, stack);
    stack.delete(name);
    seen.add(name);
    out.push(name);
  };
  for (const name of Object.keys(app.services).sort()) visit(name, new Set());
  return out;
}
