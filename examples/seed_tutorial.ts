// The seed autograd tutorial (PyTorch 0.x, `Variable`) on a gradserve server, through the TypeScript client.
//
//   npm --prefix openapi/clients/typescript run example -- [BASE_URL]   (or GRADSERVE_URL; default :8000)
//
// Each step prints what the notebook printed: a variable's data, grad and grad_fn.
import {
  createGradserveClient,
  GradserveError,
  type BackwardRequest,
  type Program,
  type Variable,
} from "../openapi/clients/typescript/src/index.ts";

// In [19]: the notebook's torch.randn(2, 2)
const GRADIENT = [[1.0932, 1.9507], [-1.0305, -0.7468]];

const baseUrl = process.argv[2] ?? process.env.GRADSERVE_URL ?? "http://127.0.0.1:8000";
const client = createGradserveClient(baseUrl);

type Attr = "data" | "grad" | "grad_fn";

// four decimals, as the notebook printed tensors
function rounded(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rounded);
  return typeof value === "number" ? Math.round(value * 1e4) / 1e4 : value;
}

function show(variables: Record<string, Variable>, name: string, attrs: Attr[] = ["data", "grad", "grad_fn"]) {
  const v = variables[name];
  if (v === undefined) throw new Error(`the server did not return ${name}`);
  for (const attr of attrs) {
    const value = v[attr];
    console.log(`${name}.${attr} = ${value === null || value === undefined ? "None" : JSON.stringify(rounded(value))}`);
  }
}

function step(title: string): void {
  console.log(`\n# ${title}`);
}

type Data = number | number[] | number[][];

const inputs = (tensors: Record<string, Data>): Program["inputs"] =>
  Object.fromEntries(Object.entries(tensors).map(([n, data]) => [n, { data, requires_grad: true }]));

async function tutorial(sid: string): Promise<void> {
  const run = async (program: Program) => (await client.run(sid, program)).variables;
  const back = async (call: BackwardRequest) => (await client.backward(sid, call)).variables;
  const refused = async (call: BackwardRequest) => {
    try {
      await back(call);
    } catch (e) {
      if (!(e instanceof GradserveError)) throw e;
      console.log(`error ${e.status} ${e.type}: ${e.detail}`);
    }
  };

  step("In [2]-[5]: x = Variable(torch.ones(2, 2), requires_grad=True)");
  show(await run({ inputs: inputs({ x: [[1, 1], [1, 1]] }), return: ["x"] }), "x");

  step("In [6]-[10]: y = x + 2; z = y * y * 3; out = z.mean()");
  let v = await run({
    ops: [
      { name: "y", op: "add", args: ["x", 2] },
      { name: "z", op: "mul", args: ["y", "y"] },
      { name: "z", op: "mul", args: ["z", 3] },
      { name: "out", expr: "mean(z)" },
    ],
  });
  for (const name of ["y", "z", "out"]) show(v, name, ["data", "grad_fn"]);

  step("In [11]-[12]: out.backward(); x.grad");
  show(await back({ output: "out", return: ["x"] }), "x", ["grad"]);

  step("out.backward() again: its buffers were freed (retain_graph was not set)");
  await refused({ output: "out" });

  step("In [14]-[15]: x = Variable(torch.ones(2, 2), requires_grad=True); y = 4 * x + 2");
  v = await run({ inputs: inputs({ x: [[1, 1], [1, 1]] }), ops: [{ name: "y", expr: "4 * x + 2" }], return: ["y"] });
  show(v, "y", ["data", "grad_fn"]);

  step("y.backward() without a gradient: y is not a scalar");
  await refused({ output: "y" });

  step("In [16]-[17]: y.backward(torch.ones(2, 2), retain_graph=True); x.grad");
  show(await back({ output: "y", gradient: [[1, 1], [1, 1]], retain_graph: true, return: ["x"] }), "x", ["grad"]);

  step("In [18]: z = y * y");
  show(await run({ ops: [{ name: "z", expr: "y * y" }], return: ["z"] }), "z", ["data", "grad_fn"]);

  step("In [19]-[20]: y.backward(gradient, retain_graph=True); x.grad (accumulates 4 + 4 * gradient)");
  console.log(`gradient = ${JSON.stringify(GRADIENT)}`);
  show(await back({ output: "y", gradient: GRADIENT, retain_graph: true, return: ["x"] }), "x", ["grad"]);

  step("In [21]-[22]: x = Variable(torch.randn(3), requires_grad=True); y = x * 2");
  v = await run({
    inputs: inputs({ x: [1.357, -0.3653, 0.6265] }),
    ops: [{ name: "y", op: "mul", args: ["x", 2] }],
    return: ["x", "y"],
  });
  show(v, "x", ["data"]);
  show(v, "y", ["data", "grad_fn"]);

  step("In [23]: while y.data.norm() < 1000: y = y * 2");
  while (Math.hypot(...(v.y?.data as number[])) < 1000) {
    v = await run({ ops: [{ name: "y", op: "mul", args: ["y", 2] }], return: ["y"] });
  }
  show(v, "y", ["data", "grad_fn"]);

  step("In [24]-[25]: y.backward(torch.FloatTensor([0.1, 1.0, 0.0001])); x.grad");
  show(await back({ output: "y", gradient: [0.1, 1.0, 0.0001], return: ["x"] }), "x", ["grad"]);

  step("Higher order: x = 3; y = x ** 3; dydx = torch.autograd.grad(y, x, create_graph=True)");
  await run({ inputs: inputs({ x: 3 }), ops: [{ name: "y", expr: "x ** 3" }] });
  const dydx = await client.grad(sid, { outputs: "y", inputs: "x", create_graph: true, bind: "dydx" });
  show(dydx.variables, "dydx", ["data", "grad_fn"]);

  step("dydx.backward(); x.grad (d2y/dx2 = 6x)");
  show(await back({ output: "dydx", return: ["x"] }), "x", ["grad"]);
}

async function main(): Promise<void> {
  const { id } = await client.createSession();
  try {
    await tutorial(id);
  } finally {
    await client.deleteSession(id);
  }
}

// no top-level await: outside the client package this file is loaded as CommonJS
main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
