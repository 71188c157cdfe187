// The TypeScript client against a live server (GRADSERVE_URL): the seed example, typed errors, base64 both ways
// on the wire, sessions deleted by withSession, dtypes, the API key, and retries on 503.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  ConflictError,
  Gradserve,
  GradserveError,
  GraphFreedError,
  LimitExceededError,
  NotFoundError,
  tensor,
  toNested,
  UnavailableError,
  UnprocessableError,
} from "../src/index.ts";

const url = process.env.GRADSERVE_URL;
// the derivative, optimizer and snapshot tests run where the server has those endpoints
const paths: Record<string, unknown> = url ? (await (await fetch(`${url}/openapi.json`)).json()).paths : {};
const needs = (path: string): { skip: string | false } => ({ skip: path in paths ? false : `this server has no ${path}` });

type Exchange = { request: string; status: number; response: string; headers: Headers };

/** fetch that keeps every request and answer body; `first` answers the first request in place of the server. */
function recording(first?: () => Response): { fetch: typeof fetch; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  let canned = first;
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = typeof init?.body === "string" ? init.body : "";
    let response: Response;
    if (canned) {
      response = canned();
      canned = undefined;
    } else {
      response = await fetch(input, init);
    }
    const text = await response.clone().text();
    exchanges.push({ request, status: response.status, response: text, headers: new Headers(init?.headers) });
    return response;
  };
  return { fetch: wrapped as typeof fetch, exchanges };
}

function close(actual: ArrayLike<number | bigint>, expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) =>
    assert.ok(Math.abs(Number(actual[i]) - e) <= tol * Math.max(1, Math.abs(e)), `${actual[i]} != ${e}`),
  );
}

describe("the client", { skip: url ? false : "set GRADSERVE_URL to a running server" }, () => {
  const gs = new Gradserve(url);

  test("the seed example: evaluate, then a session whose x.grad is 4 and that is deleted afterwards", async () => {
    const r = await gs.evaluate({
      inputs: { x: gs.tensor(new Float64Array([1, 1, 1, 1]), { shape: [2, 2], requires_grad: true }) },
      ops: [{ name: "out", expr: "mean((x + 2) * (x + 2) * 3)" }],
      backward: [{ output: "out" }],
    });
    assert.ok(r.get("x").grad instanceof Float64Array);
    close(r.get("x").grad!, [4.5, 4.5, 4.5, 4.5]);
    assert.equal(r.get("out").item(), 27);
    assert.equal(r.get("out").grad_fn, "MeanBackward0");

    let id = "";
    const program = {
      inputs: { x: gs.tensor([[1, 1], [1, 1]], { requires_grad: true }) },
      ops: [{ name: "y", expr: "4 * x + 2" }],
    };
    await gs.withSession(program, async (s) => {
      id = s.id;
      assert.deepEqual(s.result.names().sort(), ["x", "y"]);
      await s.backward("y", { gradient: gs.tensor([[1, 1], [1, 1]]), retain_graph: true });
      const x = await s.variable("x");
      assert.ok(x.grad instanceof Float32Array);
      assert.deepEqual(x.toList("grad"), [[4, 4], [4, 4]]);
      assert.deepEqual(x.shape, [2, 2]);
    });
    await assert.rejects(gs.attach(id), NotFoundError);
  });

  test("errors are typed and carry status, type and detail", async () => {
    await assert.rejects(gs.attach("no-such-session"), (e: GradserveError) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.status, 404);
      assert.equal(e.type, "/problems/session-not-found");
      return true;
    });
    const typo = gs.evaluate({ inputs: { x: [1, 2] }, ops: [{ name: "o", expr: "meen(x)" }] });
    await assert.rejects(typo, (e: GradserveError) => {
      assert.ok(e instanceof UnprocessableError);
      assert.equal(e.type, "/problems/invalid-op");
      assert.match(e.detail, /did you mean 'mean'/);
      assert.equal(e.errors[0]?.pointer, "/ops/0/expr");
      return true;
    });
    const huge = gs.evaluate({
      inputs: { a: tensor(new Float32Array(5000), { shape: [5000, 1] }), b: tensor(new Float32Array(5000), { shape: [1, 5000] }) },
      ops: [{ name: "c", expr: "a @ b" }],
    });
    await assert.rejects(huge, (e: GradserveError) => {
      assert.ok(e instanceof LimitExceededError);
      assert.equal(e.status, 413);
      assert.equal(e.type, "/problems/limit-exceeded");
      return true;
    });
    const twice = { inputs: { x: gs.tensor([1, 2], { requires_grad: true }) }, ops: [{ name: "out", expr: "sum(x * x)" }] };
    await gs.withSession(twice, async (s) => {
      await s.backward("out");
      await assert.rejects(s.backward("out"), (e: GradserveError) => {
        assert.ok(e instanceof GraphFreedError && e instanceof ConflictError);
        assert.equal(e.status, 409);
        assert.match(e.detail, /second time/);
        return true;
      });
    });
  });

  test("a million float64 values travel as base64 both ways and come back exact", async () => {
    const x = Float64Array.from({ length: 1_000_000 }, (_, i) => Math.sin(i) * 1e3);
    x[0] = NaN;
    x[1] = Infinity;
    const wire = recording();
    const client = new Gradserve(url, { fetch: wire.fetch });
    const r = await client.evaluate({
      inputs: { x: tensor(x, { shape: [1000, 1000] }) },
      ops: [{ name: "y", expr: "x * 2" }],
      return: ["x", "y"],
    });
    assert.deepEqual(r.get("x").data, x);
    assert.deepEqual(r.get("y").data, x.map((v) => v * 2));
    const [{ request, response }] = wire.exchanges as [Exchange];
    const raw = x.length * 8;
    assert.ok(request.includes('"b64":') && request.length < (raw * 4) / 3 + 4096, `request of ${request.length} bytes`);
    assert.ok(response.length < (raw * 8) / 3 + 4096 && !response.includes("[["), `answer of ${response.length} bytes`);
    // a constant input is not sent back unless asked for
    const lean = await client.evaluate({ inputs: { x: tensor(x) }, ops: [{ name: "y", expr: "x * 2" }] });
    assert.deepEqual(lean.names(), ["y"]);
  });

  test("dtypes: typed arrays keep theirs, lists are float32, booleans bool, integers int64", async () => {
    const r = await gs.evaluate({
      inputs: { f64: new Float64Array([1, 2]), f32: [1, 2], mask: [true, false], labels: new Int32Array([3, 4]) },
      ops: [{ name: "y", expr: "f64 * 2" }],
      return: ["f64", "f32", "mask", "labels", "y"],
    });
    const dtypes = Object.fromEntries(r.names().map((n) => [n, r.get(n).dtype]));
    assert.deepEqual(dtypes, { f64: "float64", f32: "float32", mask: "bool", labels: "int64", y: "float64" });
    assert.deepEqual(r.get("labels").data, new BigInt64Array([3n, 4n]));
    assert.deepEqual(toNested(r.get("mask").data, [2]), [1, 0]);
    // non-finite constants, which JSON.stringify would turn into null, go as tensors
    const z = await gs.evaluate({ inputs: { x: [1, 2] }, ops: [{ name: "z", op: "add", args: ["x", [NaN, -Infinity]] }] });
    assert.deepEqual(Array.from(z.get("z").data, Number), [NaN, -Infinity]);
  });

  test("grad by names, second order through bind", async () => {
    const cubic = { inputs: { x: gs.tensor(3, { requires_grad: true }) }, ops: [{ name: "y", expr: "x ** 3" }] };
    await gs.withSession(cubic, async (s) => {
      const { dydx } = await s.grad("y", "x", { create_graph: true, bind: "dydx" });
      assert.equal(dydx?.item(), 27);
      assert.equal(dydx?.grad_fn, "MulBackward0");
      await s.backward("dydx");
      assert.equal((await s.variable("x")).grad?.[0], 18);
      await s.zeroGrad();
      assert.equal((await s.variable("x")).grad, null);
      assert.match(await s.graphDot(), /^digraph/);
    });
  });

  test("the API key goes as a bearer token", async () => {
    const wire = recording();
    await new Gradserve(url, { apiKey: "k-123", fetch: wire.fetch }).ops();
    assert.equal(wire.exchanges[0]?.headers.get("authorization"), "Bearer k-123");
  });

  const busy = (after: string) => () =>
    new Response(JSON.stringify({ type: "/problems/memory-budget", title: "Busy", status: 503, detail: "try again" }), {
      status: 503,
      headers: { "Content-Type": "application/problem+json", "Retry-After": after },
    });

  test("a 503 with Retry-After is sent again after the wait, within the bound", async () => {
    const wire = recording(busy("0.2"));
    const start = Date.now();
    const ops = await new Gradserve(url, { fetch: wire.fetch }).ops();
    assert.ok(ops.some((o) => o.name === "add"));
    assert.equal(wire.exchanges.length, 2);
    assert.ok(Date.now() - start >= 190);

    const impatient = recording(busy("120"));
    await assert.rejects(
      new Gradserve(url, { fetch: impatient.fetch, maxRetryWaitMs: 5000 }).ops(),
      (e: GradserveError) => e instanceof UnavailableError && e.retryAfter === 120,
    );
    assert.equal(impatient.exchanges.length, 1);
  });

  const cubic = () => ({
    inputs: { x: gs.tensor(new Float64Array([1, 2, 3]), { requires_grad: true }) },
    ops: [{ name: "y", expr: "x ** 3" }, { name: "out", expr: "sum(y)" }],
  });

  test("jacobian, jvp, hvp, hessian", needs("/v1/sessions/{session_id}/hessian"), async () => {
    await gs.withSession(cubic(), async (s) => {
      close(await s.jacobian("y", "x"), [3, 0, 0, 0, 12, 0, 0, 0, 27]);
      close(await s.jvp("y", "x", { x: new Float64Array([1, 1, 1]) }), [3, 12, 27]);
      close(await s.hvp("out", "x", { x: new Float64Array([1, 1, 1]) }), [6, 12, 18]);
      close(await s.hessian("out", "x"), [6, 0, 0, 0, 12, 0, 0, 0, 18]);
      assert.equal((await s.variable("x")).grad, null);
    });
  });

  test("an optimizer step updates in place", needs("/v1/sessions/{session_id}/optimizers"), async () => {
    const w = { inputs: { w: gs.tensor(new Float64Array([1, -2]), { requires_grad: true }) }, ops: [{ name: "loss", expr: "sum(w * w)" }] };
    await gs.withSession(w, async (s) => {
      const opt = await s.optimizer("opt", "sgd", ["w"], { lr: 0.1 });
      await s.backward("loss");
      close((await opt.step()).get("w").data, [0.8, -1.6]);
      assert.equal((await opt.refresh()).steps, 1);
    });
  });

  test("a snapshot restores into a session that continues", needs("/v1/sessions/restore"), async () => {
    await gs.withSession(cubic(), async (s) => {
      await s.backward("out", { retain_graph: true });
      const copy = await gs.restore(await s.snapshot());
      try {
        await copy.backward("out");
        close((await copy.variable("x")).grad!, [6, 24, 54]);
        close((await s.variable("x")).grad!, [3, 12, 27]);
      } finally {
        await copy.delete();
      }
    });
  });
});
