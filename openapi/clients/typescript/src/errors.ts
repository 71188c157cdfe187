/**
 * Error answers (application/problem+json) thrown as exceptions: one class per family, chosen by status and type.
 */
import type { components } from "./schema.js";

export type Problem = components["schemas"]["Problem"];

/** An error answer of the server, with the RFC 9457 fields at hand and the whole `problem`. */
export class GradserveError extends Error {
  readonly status: number;
  /** the problem's stable slug: /problems/graph-freed, /problems/invalid-op ... */
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly problem: Problem & Record<string, unknown>;
  readonly headers: Headers;

  constructor(problem: Problem & Record<string, unknown>, headers: Headers = new Headers()) {
    super(`${problem.status} ${problem.type}: ${problem.detail}`);
    this.name = new.target.name;
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.problem = problem;
    this.headers = headers;
  }

  /** The server's id for the request (in its logs). */
  get requestId(): string | null {
    const id = this.problem.request_id ?? this.headers.get("x-request-id");
    return typeof id === "string" ? id : null;
  }

  /** Seconds the server asks to wait before trying again (429, 503), when it said so. */
  get retryAfter(): number | null {
    return retryAfter(this.headers);
  }
}

/** 400: the body is not JSON. */
export class BadRequestError extends GradserveError {}
/** 401: an API key is needed and was missing or wrong. */
export class UnauthorizedError extends GradserveError {}
/** 404: unknown (expired, deleted or another key's) session, unknown variable or optimizer. */
export class NotFoundError extends GradserveError {}
/** 409: the graph cannot be used as asked. */
export class ConflictError extends GradserveError {}
/** 409: backward through a graph whose saved buffers an earlier backward freed (PyTorch's "second time" error). */
export class GraphFreedError extends ConflictError {}
/** 409: backward through a node that saved a value an optimizer step has since changed in place. */
export class ModifiedInPlaceError extends ConflictError {}
/** 413: a body, tensor, result or session over one of the server's limits. */
export class LimitExceededError extends GradserveError {}
/** 415: a content type or encoding the endpoint does not take. */
export class UnsupportedMediaTypeError extends GradserveError {}
/** 422: read but refused; `type` says why (validation-error, invalid-op, unknown-name, shape-mismatch ...). */
export class UnprocessableError extends GradserveError {
  get errors(): { detail: string; pointer?: string | null }[] {
    return (this.problem.errors as { detail: string; pointer?: string | null }[] | undefined) ?? [];
  }
}
/** 429: a rate limit or quota was reached. */
export class RateLimitedError extends GradserveError {}
/** 503: the session store is unreachable, or the server's memory budget is full for now. */
export class UnavailableError extends GradserveError {}
/** 504: the request ran past the server's time limit; nothing it did was kept. */
export class DeadlineExceededError extends GradserveError {}

type ErrorClass = new (problem: Problem & Record<string, unknown>, headers?: Headers) => GradserveError;

const BY_STATUS: Record<number, ErrorClass> = {
  400: BadRequestError,
  401: UnauthorizedError,
  404: NotFoundError,
  409: ConflictError,
  413: LimitExceededError,
  415: UnsupportedMediaTypeError,
  422: UnprocessableError,
  429: RateLimitedError,
  503: UnavailableError,
  504: DeadlineExceededError,
};

const BY_TYPE: Record<string, ErrorClass> = {
  "/problems/graph-freed": GraphFreedError,
  "/problems/modified-in-place": ModifiedInPlaceError,
};

export function retryAfter(headers: Headers): number | null {
  const value = headers.get("retry-after");
  if (value === null) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? Math.max(0, seconds) : null;
}

function isProblem(body: unknown): body is Problem & Record<string, unknown> {
  const b = body as Partial<Problem> | null;
  return typeof b === "object" && b !== null && typeof b.type === "string" && typeof b.status === "number";
}

/** The typed error for an error answer; a body that is not problem+json (a proxy's page) still gets one. */
export function problemError(body: unknown, response: Response): GradserveError {
  const problem = isProblem(body)
    ? body
    : {
        type: "about:blank",
        title: response.statusText || "HTTP error",
        status: response.status,
        detail: typeof body === "string" && body ? body.slice(0, 500) : `HTTP ${response.status} from ${response.url}`,
      };
  const Class = BY_TYPE[problem.type] ?? BY_STATUS[problem.status] ?? GradserveError;
  return new Class(problem, response.headers);
}
