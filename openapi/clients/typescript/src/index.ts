/**
 * gradserve's TypeScript client: openapi-fetch typed by the generated schema.d.ts, with every
 * application/problem+json answer thrown as a GradserveError subclass chosen by status and problem type.
 */
import createClient, { type ClientOptions } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, paths } from "./schema";

type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type Program = Schemas["Program"];
export type OpCall = Schemas["OpCall"];
export type BackwardRequest = Schemas["BackwardRequest"];
export type GradRequest = Schemas["GradRequest"];
export type Variable = Schemas["Variable"];
export type VariablesResponse = Schemas["VariablesResponse"];
export type Session = Schemas["Session"];
export type Graph = Schemas["Graph"];
export type OpsResponse = Schemas["OpsResponse"];

/** An error answer of the service, with the RFC 9457 fields at hand. */
export class GradserveError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = new.target.name;
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.problem = problem;
  }
}

export class BadRequestError extends GradserveError {}
export class NotFoundError extends GradserveError {}
export class ConflictError extends GradserveError {}
/** Backward through a graph whose saved buffers a previous backward freed (PyTorch's "second time" error). */
export class GraphFreedError extends ConflictError {}
export class LimitExceededError extends GradserveError {}
/** The request was understood but refused: schema, names, shapes, a non-scalar backward without gradient ... */
export class UnprocessableError extends GradserveError {}
export class UnavailableError extends GradserveError {}

const BY_STATUS: Record<number, new (p: Problem) => GradserveError> = {
  400: BadRequestError,
  404: NotFoundError,
  409: ConflictError,
  413: LimitExceededError,
  422: UnprocessableError,
  503: UnavailableError,
};

const BY_TYPE: Record<string, new (p: Problem) => GradserveError> = {
  "/problems/graph-freed": GraphFreedError,
};

function isProblem(body: unknown): body is Problem {
  const b = body as Partial<Problem> | null;
  return typeof b === "object" && b !== null && typeof b.type === "string" && typeof b.status === "number";
}

/** The typed error for an error answer; a body that is not problem+json (a proxy's page) still gets one. */
export function problemError(body: unknown, response: Response): GradserveError {
  const problem: Problem = isProblem(body)
    ? body
    : {
        type: "about:blank",
        title: response.statusText || "HTTP error",
        status: response.status,
        detail: typeof body === "string" && body ? body : `HTTP ${response.status} from ${response.url}`,
      };
  const Class = BY_TYPE[problem.type] ?? BY_STATUS[problem.status] ?? GradserveError;
  return new Class(problem);
}

type Result<T> = { data?: T; error?: unknown; response: Response };

async function unwrap<T>(pending: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw problemError(error, response);
  return data as T;
}

/** A client for one gradserve server; `raw` is the underlying openapi-fetch client for anything else. */
export function createGradserveClient(baseUrl: string, options: Omit<ClientOptions, "baseUrl"> = {}) {
  const raw = createClient<paths>({ ...options, baseUrl: baseUrl.replace(/\/+$/, "") });
  const at = (id: string) => ({ path: { session_id: id } });

  return {
    raw,
    listOps: () => unwrap(raw.GET("/v1/ops")),
    evaluate: (program: Program) => unwrap(raw.POST("/v1/evaluate", { body: program })),
    createSession: (program?: Program) => unwrap(raw.POST("/v1/sessions", { body: program })),
    getSession: (id: string, data = false) =>
      unwrap(raw.GET("/v1/sessions/{session_id}", { params: { ...at(id), query: { data } } })),
    deleteSession: (id: string) => unwrap(raw.DELETE("/v1/sessions/{session_id}", { params: at(id) })),
    run: (id: string, program: Program) =>
      unwrap(raw.POST("/v1/sessions/{session_id}/run", { params: at(id), body: program })),
    backward: (id: string, call: BackwardRequest) =>
      unwrap(raw.POST("/v1/sessions/{session_id}/backward", { params: at(id), body: call })),
    grad: (id: string, call: GradRequest) =>
      unwrap(raw.POST("/v1/sessions/{session_id}/grad", { params: at(id), body: call })),
    zeroGrad: (id: string) => unwrap(raw.POST("/v1/sessions/{session_id}/zero_grad", { params: at(id) })),
    getVariable: (id: string, name: string) =>
      unwrap(raw.GET("/v1/sessions/{session_id}/variables/{name}", { params: { path: { session_id: id, name } } })),
    getGraph: (id: string) => unwrap(raw.GET("/v1/sessions/{session_id}/graph", { params: at(id) })),
    /** The graph as Graphviz DOT text. */
    getGraphDot: (id: string) =>
      unwrap<string>(
        raw.GET("/v1/sessions/{session_id}/graph", {
          params: { ...at(id), query: { format: "dot" } },
          parseAs: "text",
        }),
      ),
  };
}

export type GradserveClient = ReturnType<typeof createGradserveClient>;
