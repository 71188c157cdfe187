/**
 * The client: `Gradserve` (a server), `Session` (a graph kept on it), `Optimizer`. Typed arrays in and out,
 * base64 on the wire both ways, every error answer thrown as a GradserveError subclass.
 */
import createClient from "openapi-fetch";

import { NotFoundError, problemError, retryAfter } from "./errors.js";
import type { paths } from "./schema.js";
import {
  type DType,
  inputToWire,
  type Nested,
  type Tensor,
  type TensorData,
  type TensorOptions,
  type TypedData,
  tensor,
  toWire,
  Variable,
} from "./tensors.js";

/** An op call of a program: `{name, op, args, kwargs}` or `{name, expr}` (args may hold Tensors, typed arrays). */
export type OpCall = {
  name: string;
  op?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  expr?: string;
  retain_grad?: boolean;
  no_grad?: boolean;
  requires_grad?: boolean;
};
export type BackwardCall = { output: string; gradient?: unknown; retain_graph?: boolean; create_graph?: boolean };
export type Derivative = { kind: "grad" | "jacobian" | "jvp" | "hvp" | "hessian"; [field: string]: unknown };
export type Names = string | string[];

export type Program = {
  /** name → Tensor, typed array, number or nested lists (a constant), or a wire-form object */
  inputs?: Record<string, unknown>;
  ops?: OpCall[];
  backward?: BackwardCall[];
  derivatives?: Derivative[];
  /** optimizer names to step after the backward calls (sessions only) */
  step?: string[];
  /** set every grad to null first (sessions only) */
  zero_grad?: boolean;
  /** names to return; default: what the program binds, less the inputs that do not require grad */
  return?: string[];
};

export type Options = {
  /** sent as `Authorization: Bearer <key>` (default: $GRADSERVE_API_KEY) */
  apiKey?: string;
  /** per request, in milliseconds (default 60 000) */
  timeoutMs?: number;
  /** 503 answers, and 429 answers with Retry-After, are sent again up to this many times (default 2) */
  maxRetries?: number;
  /** ... unless the server asks to wait longer than this (default 30 000) */
  maxRetryWaitMs?: number;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
};

/** The variables a request returned, by name, plus the answers of its derivative calls. */
export class Result {
  constructor(
    readonly variables: Record<string, Variable>,
    readonly derivatives: Record<string, unknown>[] = [],
  ) {}

  /** The variable `name`; throws when it was not returned. */
  get(name: string): Variable {
    const v = this.variables[name];
    if (v === undefined) {
      const got = Object.keys(this.variables).join(", ") || "nothing";
      throw new RangeError(`${name} was not returned (returned: ${got}); ask for it with "return"`);
    }
    return v;
  }

  has(name: string): boolean {
    return name in this.variables;
  }

  names(): string[] {
    return Object.keys(this.variables);
  }
}

export type VariableInfo = {
  shape: number[];
  dtype: DType;
  requires_grad: boolean;
  is_leaf: boolean;
  grad_fn: string | null;
  has_grad: boolean;
};
export type SessionInfo = { id: string; created_at: Date; expires_at: Date; variables: Record<string, VariableInfo> };
export type OptimizerInfo = {
  name: string;
  type: string;
  params: string[];
  hyperparameters: Record<string, unknown>;
  steps: number;
};
export type Graph = paths["/v1/sessions/{session_id}/graph"]["get"]["responses"][200]["content"]["application/json"];

type Body = Record<string, unknown>;
type Doc = Record<string, unknown>;

function variablesOf(doc: unknown): Record<string, Variable> {
  const entries = Object.entries((doc ?? {}) as Record<string, Parameters<typeof Variable.fromWire>[1]>);
  return Object.fromEntries(entries.map(([name, v]) => [name, Variable.fromWire(name, v)]));
}

function isWireVariable(v: unknown): v is Parameters<typeof Variable.fromWire>[1] {
  return typeof v === "object" && v !== null && "shape" in v && "dtype" in v && "data" in v;
}

/** Variables inside a derivative answer, as Variables (their `data` is the derivative). */
function variablesIn(node: unknown, name = ""): unknown {
  if (isWireVariable(node)) return Variable.fromWire(name, node);
  if (typeof node === "object" && node !== null) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, variablesIn(v, k)]));
  }
  return node;
}

function resultOf(doc: Doc): Result {
  const derivatives = ((doc.derivatives ?? []) as Doc[]).map((d) => variablesIn(d) as Record<string, unknown>);
  return new Result(variablesOf(doc.variables), derivatives);
}

function names(value: Names): Names {
  return typeof value === "string" ? value : [...value];
}

function requiresGrad(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { requires_grad?: unknown }).requires_grad === true;
}

/** The body of a program: tensors as base64, base64 answers, and `return` set so constant inputs stay put. */
export function programBody(program: Program): Body {
  const inputs = program.inputs ?? {};
  const ops = program.ops ?? [];
  const body: Body = { encoding: "base64" };
  if (program.zero_grad) body.zero_grad = true;
  if (Object.keys(inputs).length) {
    body.inputs = Object.fromEntries(Object.entries(inputs).map(([n, v]) => [n, inputToWire(v)]));
  }
  if (ops.length) {
    body.ops = ops.map((op) => ({
      ...op,
      ...(op.args ? { args: op.args.map(toWire) } : {}),
      ...(op.kwargs ? { kwargs: Object.fromEntries(Object.entries(op.kwargs).map(([k, v]) => [k, toWire(v)])) } : {}),
    }));
  }
  if (program.backward?.length) {
    body.backward = program.backward.map((b) =>
      b.gradient === undefined ? b : { ...b, gradient: toWire(b.gradient) },
    );
  }
  if (program.derivatives?.length) body.derivatives = program.derivatives.map(derivativeBody);
  if (program.step?.length) body.step = program.step;
  if (program.return) {
    body.return = program.return;
  } else if (Object.keys(inputs).length || ops.length) {
    const bound = [...Object.keys(inputs).filter((n) => requiresGrad(inputs[n])), ...ops.map((op) => op.name)];
    body.return = [...new Set(bound)];
  }
  return body;
}

/** One tensor per output when `outputs` is a list, else one tensor. */
function gradOutputs(value: unknown, outputs: unknown): unknown {
  if (Array.isArray(outputs) && Array.isArray(value)) return value.map((v) => (v === null ? null : toWire(v)));
  return toWire(value);
}

function derivativeBody(call: Body): Body {
  const body: Body = { ...call };
  if (body.grad_outputs !== undefined) body.grad_outputs = gradOutputs(body.grad_outputs, body.outputs);
  for (const key of ["tangents", "v"]) {
    const value = body[key];
    if (typeof value === "object" && value !== null) {
      body[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
    }
  }
  return body;
}

type Request = { method: string; path: string; json?: unknown; bytes?: Uint8Array; query?: Record<string, string> };

const env = (name: string): string | undefined =>
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];

/** A gradserve server. `baseUrl` defaults to $GRADSERVE_URL, else http://127.0.0.1:8000. */
export class Gradserve {
  readonly baseUrl: string;
  /** the openapi-fetch client typed by the generated schema, with the same URL and key, for anything else */
  readonly raw: ReturnType<typeof createClient<paths>>;
  private readonly headers: Record<string, string>;
  private readonly options: Required<Pick<Options, "timeoutMs" | "maxRetries" | "maxRetryWaitMs">>;
  private readonly fetch: typeof fetch;

  constructor(baseUrl?: string, options: Options = {}) {
    this.baseUrl = (baseUrl ?? env("GRADSERVE_URL") ?? "http://127.0.0.1:8000").replace(/\/+$/, "");
    const apiKey = options.apiKey ?? env("GRADSERVE_API_KEY");
    this.headers = { ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}), ...options.headers };
    this.options = {
      timeoutMs: options.timeoutMs ?? 60_000,
      maxRetries: options.maxRetries ?? 2,
      maxRetryWaitMs: options.maxRetryWaitMs ?? 30_000,
    };
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.raw = createClient<paths>({ baseUrl: this.baseUrl, headers: this.headers, fetch: this.fetch });
  }

  /** Send a request; the answer on success, else the typed error. 503 (and 429 with Retry-After) are retried. */
  async request(req: Request): Promise<Response> {
    const url = new URL(this.baseUrl + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...this.headers };
    let body: string | Uint8Array | undefined;
    if (req.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(req.json);
    } else if (req.bytes !== undefined) {
      headers["Content-Type"] = "application/octet-stream";
      body = req.bytes;
    }
    for (let attempt = 0; ; attempt++) {
      const response = await this.fetch(url, {
        method: req.method,
        headers,
        body: body as BodyInit | undefined,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (response.ok) return response;
      const wait = this.retryWait(response, attempt);
      if (wait === null) {
        const text = await response.text();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON (a proxy's page): problemError keeps the text as the detail
        }
        throw problemError(parsed, response);
      }
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private retryWait(response: Response, attempt: number): number | null {
    if (attempt >= this.options.maxRetries || (response.status !== 429 && response.status !== 503)) return null;
    const asked = retryAfter(response.headers);
    if (asked === null && response.status === 429) return null;
    const wait = asked === null ? 500 * 2 ** attempt : asked * 1000;
    return wait <= this.options.maxRetryWaitMs ? wait : null;
  }

  async json(req: Request): Promise<Doc> {
    const response = await this.request(req);
    return (await response.json()) as Doc;
  }

  /** An input: typed arrays keep their dtype; numbers and nested lists are float32 (bool if all booleans). */
  tensor(data: TensorData, options: TensorOptions = {}): Tensor {
    return tensor(data, options);
  }

  /** The op catalog. */
  async ops(): Promise<Doc[]> {
    return (await this.json({ method: "GET", path: "/v1/ops" })).ops as Doc[];
  }

  /** Run a program in a throwaway session. */
  async evaluate(program: Program): Promise<Result> {
    return resultOf(await this.json({ method: "POST", path: "/v1/evaluate", json: programBody(program) }));
  }

  /** A new session, running a first program in it if one is given (`result` holds its answer). */
  async session(program?: Program): Promise<Session> {
    const json = program ? programBody(program) : { encoding: "base64" };
    return Session.fromWire(this, await this.json({ method: "POST", path: "/v1/sessions", json }));
  }

  /** Run `use` with a new session and delete the session afterwards, whatever happens. */
  async withSession<T>(program: Program | undefined, use: (session: Session) => Promise<T>): Promise<T> {
    const session = await this.session(program);
    try {
      return await use(session);
    } finally {
      await session.delete().catch((e: unknown) => {
        if (!(e instanceof NotFoundError)) throw e;
      });
    }
  }

  /** A session made earlier, by id (NotFoundError when it is unknown or expired). */
  async attach(id: string): Promise<Session> {
    const doc = await this.json({ method: "GET", path: `/v1/sessions/${encodeURIComponent(id)}` });
    return Session.fromWire(this, doc, false);
  }

  /** A new session from a snapshot (Session.snapshot()), continuing exactly where that one was. */
  async restore(snapshot: Uint8Array): Promise<Session> {
    return Session.fromWire(this, await this.json({ method: "POST", path: "/v1/sessions/restore", bytes: snapshot }));
  }
}

/** One name gives the answer for it; a list gives the mapping by name. */
function pick(answer: Record<string, unknown>, which: Names): unknown {
  return typeof which === "string" ? answer[which] : answer;
}

/** A table {row: {col: value}} with each row picked by `cols`. */
function byRow(table: Record<string, unknown>, cols: Names): Record<string, unknown> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, pick(v as Record<string, unknown>, cols)]));
}

function arrays(node: unknown): unknown {
  if (node instanceof Variable) return node.data;
  if (typeof node === "object" && node !== null) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, arrays(v)]));
  }
  return node;
}

/** A session on the server: bindings, graph, grads and optimizers, until deleted or idle past its TTL. */
export class Session {
  private constructor(
    readonly gs: Gradserve,
    readonly id: string,
    readonly created_at: Date,
    readonly expires_at: Date,
    readonly result: Result,
  ) {}

  /** From a creation answer (its variables are what the first program returned) or a description (no result). */
  static fromWire(gs: Gradserve, doc: Doc, created = true): Session {
    // a restored session lists its variables without values: no result then
    const returned = Object.entries((doc.variables ?? {}) as Doc).filter(([, v]) => isWireVariable(v));
    const result = new Result(created ? variablesOf(Object.fromEntries(returned)) : {});
    const [created_at, expires_at] = [new Date(doc.created_at as string), new Date(doc.expires_at as string)];
    return new Session(gs, doc.id as string, created_at, expires_at, result);
  }

  private path(...rest: string[]): string {
    return ["/v1/sessions", this.id, ...rest].map((p, i) => (i ? encodeURIComponent(p) : p)).join("/");
  }

  private post(rest: string[], json?: unknown): Promise<Doc> {
    return this.gs.json({ method: "POST", path: this.path(...rest), json });
  }

  /** Run a program against the session's bindings: zero_grad, inputs, ops, backward, derivatives, step. */
  async run(program: Program): Promise<Result> {
    return resultOf(await this.post(["run"], programBody(program)));
  }

  /** `output.backward(gradient)`: grads accumulate into the leaves; returns the variables with a grad. */
  async backward(output: string, options: Omit<BackwardCall, "output"> & { return?: string[] } = {}): Promise<Result> {
    const body: Body = { ...options, output, encoding: "base64" };
    if (options.gradient !== undefined) body.gradient = toWire(options.gradient);
    return resultOf(await this.post(["backward"], body));
  }

  /** torch.autograd.grad by names, without accumulating: the grads by bind name, else by input name. */
  async grad(
    outputs: Names,
    inputs: Names,
    options: {
      grad_outputs?: unknown;
      retain_graph?: boolean;
      create_graph?: boolean;
      allow_unused?: boolean;
      is_grads_batched?: boolean;
      bind?: Names;
    } = {},
  ): Promise<Record<string, Variable>> {
    const body: Body = { ...options, outputs: names(outputs), inputs: names(inputs), encoding: "base64" };
    if (options.grad_outputs !== undefined) body.grad_outputs = gradOutputs(options.grad_outputs, outputs);
    const doc = await this.post(["grad"], body);
    return variablesOf("grads" in doc ? doc.grads : doc.variables);
  }

  /** Set every grad in the session to null. */
  async zeroGrad(): Promise<void> {
    await this.gs.request({ method: "POST", path: this.path("zero_grad") });
  }

  /** One variable with its data and grad. */
  async variable(name: string): Promise<Variable> {
    const query = { encoding: "base64" };
    const doc = await this.gs.json({ method: "GET", path: this.path("variables", name), query });
    return Variable.fromWire(name, doc as Parameters<typeof Variable.fromWire>[1]);
  }

  /** Every binding with its data and grad. */
  async variables(): Promise<Record<string, Variable>> {
    const doc = await this.gs.json({ method: "GET", path: this.path(), query: { data: "true", encoding: "base64" } });
    return variablesOf(doc.variables);
  }

  /** Times and every binding's metadata, without values. */
  async info(): Promise<SessionInfo> {
    const doc = await this.gs.json({ method: "GET", path: this.path() });
    return {
      id: doc.id as string,
      created_at: new Date(doc.created_at as string),
      expires_at: new Date(doc.expires_at as string),
      variables: doc.variables as Record<string, VariableInfo>,
    };
  }

  async graph(): Promise<Graph> {
    return (await this.gs.json({ method: "GET", path: this.path("graph") })) as Graph;
  }

  /** The graph as Graphviz DOT text. */
  async graphDot(): Promise<string> {
    return (await this.gs.request({ method: "GET", path: this.path("graph"), query: { format: "dot" } })).text();
  }

  /** The graph as an SVG picture (drawn by Graphviz on the server). */
  async graphSvg(): Promise<string> {
    return (await this.gs.request({ method: "GET", path: this.path("graph"), query: { format: "svg" } })).text();
  }

  private async derivative(kind: string, body: Body): Promise<Record<string, unknown>> {
    const doc = await this.post([kind], { ...derivativeBody(body), encoding: "base64" });
    return arrays(variablesIn(doc[kind])) as Record<string, unknown>;
  }

  /** d outputs / d inputs (shape out.shape + in.shape): an array for two names, else by name. */
  async jacobian(outputs: string, inputs: string, options?: { chunk_size?: number }): Promise<TypedData>;
  async jacobian(outputs: Names, inputs: Names, options?: { chunk_size?: number }): Promise<Record<string, unknown>>;
  async jacobian(outputs: Names, inputs: Names, options: { chunk_size?: number } = {}): Promise<unknown> {
    const answer = await this.derivative("jacobian", { outputs: names(outputs), inputs: names(inputs), ...options });
    const rows = byRow(answer, inputs);
    return pick(rows, outputs);
  }

  /** J·v for tangents by input name. */
  async jvp(outputs: string, inputs: Names, tangents: Record<string, unknown>): Promise<TypedData>;
  async jvp(outputs: string[], inputs: Names, tangents: Record<string, unknown>): Promise<Record<string, TypedData>>;
  async jvp(outputs: Names, inputs: Names, tangents: Record<string, unknown>): Promise<unknown> {
    return pick(await this.derivative("jvp", { outputs: names(outputs), inputs: names(inputs), tangents }), outputs);
  }

  /** H·v of a single-element output. */
  async hvp(output: string, inputs: string, v: Record<string, unknown>): Promise<TypedData>;
  async hvp(output: string, inputs: string[], v: Record<string, unknown>): Promise<Record<string, TypedData>>;
  async hvp(output: string, inputs: Names, v: Record<string, unknown>): Promise<unknown> {
    return pick(await this.derivative("hvp", { output, inputs: names(inputs), v }), inputs);
  }

  /** Second derivatives of a single-element output (shape in_i.shape + in_j.shape). */
  async hessian(output: string, inputs: string): Promise<TypedData>;
  async hessian(output: string, inputs: string[]): Promise<Record<string, Record<string, TypedData>>>;
  async hessian(output: string, inputs: Names): Promise<unknown> {
    const answer = await this.derivative("hessian", { output, inputs: names(inputs) });
    const rows = byRow(answer, inputs);
    return pick(rows, inputs);
  }

  /** A new optimizer over leaf params (sgd, adam, adamw, rmsprop, adagrad; PyTorch's hyperparameters). */
  async optimizer(
    name: string,
    type: string,
    params: string[],
    hyperparameters: Record<string, unknown> = {},
  ): Promise<Optimizer> {
    const info = await this.post(["optimizers"], { name, type, params, ...hyperparameters });
    return new Optimizer(this, info as OptimizerInfo);
  }

  async getOptimizer(name: string): Promise<Optimizer> {
    const info = await this.gs.json({ method: "GET", path: this.path("optimizers", name) });
    return new Optimizer(this, info as OptimizerInfo);
  }

  /** The whole session as a file (safetensors), for Gradserve.restore. */
  async snapshot(): Promise<Uint8Array> {
    return new Uint8Array(await (await this.gs.request({ method: "GET", path: this.path("snapshot") })).arrayBuffer());
  }

  async delete(): Promise<void> {
    await this.gs.request({ method: "DELETE", path: this.path() });
  }
}

/** An optimizer in a session: `step()` updates its params in place as torch.optim does. */
export class Optimizer {
  constructor(
    readonly session: Session,
    public info: OptimizerInfo,
  ) {}

  get name(): string {
    return this.info.name;
  }

  private path(...rest: string[]): string {
    const at = ["/v1/sessions", this.session.id, "optimizers", this.name, ...rest];
    return at.map((p, i) => (i ? encodeURIComponent(p) : p)).join("/");
  }

  /** One step; returns the updated params. */
  async step(): Promise<Result> {
    const doc = await this.session.gs.json({
      method: "POST",
      path: this.path("step"),
      json: {},
    });
    // the updated params, under `variables` (or `params`)
    return new Result(variablesOf("variables" in doc ? doc.variables : doc.params));
  }

  async zeroGrad(): Promise<void> {
    await this.session.gs.request({ method: "POST", path: this.path("zero_grad") });
  }

  /** The optimizer as the server has it now (steps taken, hyperparameters). */
  async refresh(): Promise<OptimizerInfo> {
    this.info = (await this.session.gs.json({ method: "GET", path: this.path() })) as OptimizerInfo;
    return this.info;
  }
}

export type { Nested };
