/**
 * Turns a file into the API calls that make a vault match it: a plan computed from the vault's
 * current state before anything is sent (so a second apply finds nothing to do, and --dry-run shows
 * exactly what apply would do), then the calls one by one. The API connection is the caller's.
 * This file holds the plan machinery and VGS route files; vault-sync.ts the whole-vault file.
 */
import { createHash } from 'node:crypto';
import {
  describeRouteAction,
  planRoutes,
  routeBody,
  type ApiRoute,
  type RouteAction,
  type RouteSpec,
} from './routes.js';

/** What sync needs of the API client (src/cli/api-client.ts has it). */
export interface Api {
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  list<T = unknown>(path: string): Promise<T[]>;
}

export interface Step {
  /** "route 3c0f… created", for the report of what was and was not applied. */
  readonly label: string;
  /** Runs the call; returns the lines to print (a new credential's password among them). */
  run(): Promise<string[]>;
}

export interface Plan {
  /** The diff: one line per item, "+" create, "~" change, "=" unchanged, "!" cannot be carried. */
  readonly lines: string[];
  readonly steps: Step[];
  readonly unchanged: number;
  /** What the file holds that apply cannot carry, with the reason. */
  readonly notCarried: string[];
}

/** Raised when a call fails midway: what was applied before it and what was not. */
export class PartialApplyError extends Error {
  constructor(
    readonly failure: unknown,
    readonly applied: readonly string[],
    readonly notApplied: readonly string[],
  ) {
    super(failure instanceof Error ? failure.message : String(failure));
    this.name = 'PartialApplyError';
  }
}

/** Runs a plan's steps in order; `print` gets each step's lines as it completes. */
export async function runPlan(plan: Plan, print: (line: string) => void): Promise<void> {
  const done: string[] = [];
  for (const [i, step] of plan.steps.entries()) {
    try {
      for (const line of await step.run()) print(line);
    } catch (err) {
      throw new PartialApplyError(
        err,
        done,
        plan.steps.slice(i).map((s) => s.label),
      );
    }
    done.push(step.label);
  }
}

export const routesPath = (vaultId: string): string => `/vaults/${encodeURIComponent(vaultId)}/routes`;

export function routeSteps(api: Api, vaultId: string, actions: readonly RouteAction[]): Step[] {
  return actions
    .filter((a) => a.kind !== 'unchanged')
    .map((a) => ({
      label: `route ${a.spec.id} ${a.kind === 'create' ? 'created' : 'replaced'}`,
      async run() {
        await api.request('PUT', `${routesPath(vaultId)}/${a.spec.id}`, routeBody(a.spec));
        return [`route ${a.spec.id} ${a.kind === 'create' ? 'created' : 'replaced'}`];
      },
    }));
}

/** VGS route YAML: creates or replaces each route by id; routes not in the file are left alone. */
export async function planVgsApply(api: Api, vaultId: string, routes: readonly RouteSpec[]): Promise<Plan> {
  const current = await api.list<ApiRoute>(routesPath(vaultId));
  const actions = planRoutes(routes, current);
  await refuseForeignIds(
    api,
    vaultId,
    actions.filter((a) => a.kind === 'create').map((a) => a.spec.id),
  );
  return {
    lines: actions.flatMap(describeRouteAction),
    steps: routeSteps(api, vaultId, actions),
    unchanged: actions.filter((a) => a.kind === 'unchanged').length,
    notCarried: [],
  };
}

/** A route id the file would create that another vault already holds: found before anything changes. */
export class ForeignRouteError extends Error {
  constructor(
    readonly routeId: string,
    readonly otherVaultId: string,
  ) {
    super(
      `route ${routeId} belongs to vault ${otherVaultId}, and route ids are unique across vaultgate; to copy routes between vaults use the whole-vault file (vaultgate export --vault ${otherVaultId}), which gives them new ids. Nothing was applied.`,
    );
    this.name = 'ForeignRouteError';
  }
}

async function refuseForeignIds(api: Api, vaultId: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const wanted = new Set(ids);
  for (const vault of await api.list<{ id: string }>('/vaults')) {
    if (vault.id === vaultId) continue;
    const taken = (await api.list<ApiRoute>(routesPath(vault.id))).find((r) => wanted.has(r.id));
    if (taken) throw new ForeignRouteError(taken.id, vault.id);
  }
}

/**
 * The id a route of another vault gets in this one. Route ids are unique across a vaultgate, so a
 * sandbox route promoted into live needs a new one; deriving it from (target vault, source id)
 * finds the same route again on the next apply, which keeps apply idempotent without any state.
 */
export function promotedRouteId(targetVaultId: string, sourceRouteId: string): string {
  const h = createHash('sha256').update(`vaultgate route ${targetVaultId} ${sourceRouteId}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x80; // version 8: a custom, name-based UUID (RFC 9562 §5.8)
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80; // the RFC variant
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
