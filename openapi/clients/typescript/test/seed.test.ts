// The seed autograd tutorial against a live server (GRADSERVE_URL), with its two refusals as typed errors.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  createGradserveClient,
  GradserveError,
  GraphFreedError,
  NotFoundError,
  UnprocessableError,
  type Variable,
} from "../src/index.ts";

const url = process.env.GRADSERVE_URL;
const client = createGradserveClient(url ?? "http://127.0.0.1:8000");

function close(actual: unknown, expected: unknown, tol = 1e-4): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `expected a list, got ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length);
    expected.forEach((e, i) => close(actual[i], e, tol));
  } else {
    assert.equal(typeof actual, "number", `expected a number, got ${JSON.stringify(actual)}`);
    const a = actual as number;
    const e = expected as number;
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${a} is not close to ${e}`);
  }
}

function norm(v: Variable): number {
  return Math.hypot(...(v.data as number[]));
}

describe("the seed tutorial", { skip: url ? false : "set GRADSERVE_URL to a running server" }, () => {
  const sessions: string[] = [];
  const session = async () => {
    const s = await client.createSession();
    sessions.push(s.id);
    return s.id;
  };
  before(async () => assert.deepEqual(await client.raw.GET("/healthz").then((r) => r.data), { status: "ok" }));
  after(async () => Promise.all(sessions.map((id) => client.deleteSession(id))));

  test("out = mean((x + 2)^2 * 3) is 27 and x.grad is 4.5; a second backward is GraphFreedError", async () => {
    const id = await session();
    const first = await client.run(id, { inputs: { x: { data: [[1, 1], [1, 1]], requires_grad: true } } });
    assert.equal(first.variables.x?.grad, null);
    assert.equal(first.variables.x?.grad_fn, null);

    const { variables } = await client.run(id, {
      ops: [
        { name: "y", op: "add", args: ["x", 2] },
        { name: "z", expr: "y * y * 3" },
        { name: "out", op: "mean", args: ["z"] },
      ],
    });
    close(variables.y?.data, [[3, 3], [3, 3]]);
    assert.equal(variables.y?.grad_fn, "AddBackward0");
    close(variables.z?.data, [[27, 27], [27, 27]]);
    assert.equal(variables.out?.grad_fn, "MeanBackward0");
    close(variables.out?.data, 27);

    const grads = await client.backward(id, { output: "out", return: ["x"] });
    close(grads.variables.x?.grad, [[4.5, 4.5], [4.5, 4.5]]);

    const again = client.backward(id, { output: "out" });
    await assert.rejects(again, GraphFreedError);
    await assert.rejects(again, (e: GradserveError) => {
      assert.equal(e.status, 409);
      assert.equal(e.type, "/problems/graph-freed");
      assert.match(e.detail, /backward through the graph a second time/);
      return true;
    });
  });

  test("y = 4x + 2: backward with ones, then with a gradient, accumulates 4 + 4g; no gradient is a 422", async () => {
    const id = await session();
    const { variables } = await client.run(id, {
      inputs: { x: { data: [[1, 1], [1, 1]], requires_grad: true } },
      ops: [{ name: "y", expr: "4 * x + 2" }],
    });
    close(variables.y?.data, [[6, 6], [6, 6]]);

    const nonScalar = client.backward(id, { output: "y" });
    await assert.rejects(nonScalar, UnprocessableError);
    await assert.rejects(nonScalar, (e: GradserveError) => {
      assert.equal(e.status, 422);
      assert.match(e.detail, /scalar/);
      return true;
    });

    const ones = await client.backward(id, { output: "y", gradient: [[1, 1], [1, 1]], retain_graph: true });
    close(ones.variables.x?.grad, [[4, 4], [4, 4]]);

    const z = await client.run(id, { ops: [{ name: "z", expr: "y * y" }], return: ["z"] });
    close(z.variables.z?.data, [[36, 36], [36, 36]]);

    const g = [[1.0932, 1.9507], [-1.0305, -0.7468]];
    const second = await client.backward(id, { output: "y", gradient: g, retain_graph: true, return: ["x"] });
    close(second.variables.x?.grad, g.map((row) => row.map((v) => 4 + 4 * v)));
  });

  test("the while loop doubles y from the client until its norm reaches 1000", async () => {
    const id = await session();
    let { variables } = await client.run(id, {
      inputs: { x: { data: [1.357, -0.3653, 0.6265], requires_grad: true } },
      ops: [{ name: "y", op: "mul", args: ["x", 2] }],
      return: ["y"],
    });
    let turns = 0;
    while (norm(variables.y as Variable) < 1000) {
      ({ variables } = await client.run(id, { ops: [{ name: "y", op: "mul", args: ["y", 2] }], return: ["y"] }));
      turns += 1;
    }
    assert.equal(turns, 9);
    const { variables: grads } = await client.backward(id, { output: "y", gradient: [0.1, 1.0, 0.0001] });
    close(grads.x?.grad, [102.4, 1024, 0.1024]);
  });

  test("x = 3, y = x^3: dy/dx made with create_graph is 27, and its backward gives x.grad 18", async () => {
    const id = await session();
    await client.run(id, { inputs: { x: { data: 3, requires_grad: true } }, ops: [{ name: "y", expr: "x ** 3" }] });
    const first = await client.grad(id, { outputs: "y", inputs: "x", create_graph: true, bind: "dydx" });
    close(first.variables.dydx?.data, 27);
    const second = await client.backward(id, { output: "dydx", return: ["x"] });
    close(second.variables.x?.grad, 18);
  });

  test("an unknown session is a NotFoundError", async () => {
    await assert.rejects(client.getSession("no-such-session"), NotFoundError);
  });
});
